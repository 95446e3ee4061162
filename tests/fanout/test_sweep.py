"""`kedro sweep` through the real command on a local 2-worker cluster: parent and child
runs, a killed sweep resumed without repeating its finished trials, the written environment."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import time
from pathlib import Path

import psutil
import pytest
import yaml

from advanced_dl.fanout.sweep import STUDY_TAG
from advanced_dl.runtime import ABANDONED_TAG, HOST_TAG, PID_TAG, PROCESS_STARTED_TAG
from tests.conftest import KedroInBackground, all_at_once, run_kedro

# Tiny MDN trials: a few epochs on 700 samples.
PARAMS = (
    "mdn_synthetic.data.n_samples=700,mdn_synthetic.data.train_size=600,"
    "mdn_synthetic.training.epochs=4"
)
SWEEP = ["sweep", "--pipelines", "mdn_synthetic", "--workers", "2", "--params", PARAMS]


def _study(project: Path):
    import optuna

    storage = f"sqlite:///{project / 'mlflow-optuna.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    return optuna.load_study(study_name=summary.study_name, storage=storage)


def _finished(project: Path) -> int:
    """Finished trials, read without writing: an Optuna storage opened while the sweep
    creates the schema would create it too, and the two would race (the loser's
    ``alembic_version`` insert fails, failing the sweep, not the test)."""
    database = project / "mlflow-optuna.db"
    if not database.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED')"
            ).fetchone()
    except sqlite3.OperationalError:  # no trials table yet, or locked for a moment
        return 0
    return count


def _leave_a_cut_short_trial_run(project: Path, pid: int, started: str) -> None:
    """Unless the kill already did, leave what a kill while the driver logs a trial's
    child run leaves: the run created (here with its tags only), still RUNNING."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("mdn_synthetic")
    runs = client.search_runs([experiment.experiment_id])
    if any(r.data.tags.get("sweep") == "trial" and r.info.status == "RUNNING" for r in runs):
        return
    (parent,) = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    client.create_run(
        experiment.experiment_id,
        run_name="trial cut short",
        tags={
            STUDY_TAG: parent.data.tags[STUDY_TAG],
            "sweep": "trial",
            "mlflow.parentRunId": parent.info.run_id,
            HOST_TAG: socket.gethostname(),
            PID_TAG: str(pid),
            PROCESS_STARTED_TAG: started,
        },
    )


@pytest.mark.slow
def test_a_killed_sweep_resumes_and_writes_its_best_configuration(kedro_project):
    sweep = KedroInBackground(
        kedro_project,
        *SWEEP,
        "--trials",
        "4",
        "--test-seeds",
        "",
        new_session=True,  # its Dask workers die with it, as with Ctrl-C in a terminal
    )
    killed = sweep.process
    try:
        deadline = time.monotonic() + 300
        while _finished(kedro_project) < 1:
            assert killed.poll() is None, sweep.ended_early("the sweep ended before it was killed")
            assert time.monotonic() < deadline, sweep.ended_early("no trial finished")
            time.sleep(0.2)
        killed_started = f"{psutil.Process(killed.pid).create_time():.3f}"
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
    _leave_a_cut_short_trial_run(kedro_project, killed.pid, killed_started)
    before = {t.number: t.params for t in _study(kedro_project).trials if t.state.name != "RUNNING"}
    finished_before = _finished(kedro_project)
    assert finished_before < 4

    outcome_file = kedro_project / "sweep.json"
    result = run_kedro(
        kedro_project, *SWEEP, "--trials", "4", "--test-seeds", "42", "--output", str(outcome_file)
    )
    study = _study(kedro_project)
    states = [t.state.name for t in study.trials]
    assert sum(s in ("COMPLETE", "PRUNED") for s in states) == 4
    assert "RUNNING" not in states  # the killed sweep's trials were marked failed
    for number, params in before.items():  # finished trials were not run again
        assert study.trials[number].params == params
    assert f"({4 - finished_before} new)" in result.stdout

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{kedro_project / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["mdn_synthetic"], output_format="list")
    parents = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    assert len(parents) == 1  # the resumed sweep went on in the same parent run
    parent = parents[0]
    trials = [r for r in runs if r.data.tags.get("sweep") == "trial"]
    # A kill while a child run is being logged leaves it started, with its tags and
    # perhaps some parameters (never more than the one the driver was logging when it
    # died: if the kill did not, `_leave_a_cut_short_trial_run` left one); the resumed
    # sweep marks it KILLED, saying why, instead of leaving it RUNNING for ever.
    assert all(PID_TAG in r.data.tags for r in trials)  # what lets it tell
    cut_short = [r for r in trials if r.info.status != "FINISHED"]
    (abandoned,) = cut_short
    assert abandoned.info.status == "KILLED"
    assert f"found by run {parent.info.run_id}" in abandoned.data.tags[ABANDONED_TAG]
    trials = [r for r in trials if r not in cut_short]
    logged = [int(r.data.params["trial"]) for r in trials]
    finished = {t.number for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")}
    assert len(logged) == len(set(logged)) and set(logged) <= finished  # each trial once
    # Every trial the resumed sweep ran has its child run (a kill between the study's
    # record and the child run's logging can lose the killed sweep's last one).
    assert finished - set(before) <= set(logged)
    assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {parent.info.run_id}
    assert all("mdn_synthetic.training.learning_rate" in r.data.params for r in trials)
    complete = [r for r in trials if r.data.tags["trial_state"] == "complete"]
    assert all("objective_val_loss" in r.data.metrics for r in complete)
    assert parent.data.metrics["best_val_loss"] == pytest.approx(study.best_value)
    best_rate = study.best_params["mdn_synthetic.training.learning_rate"]
    assert parent.data.tags["best.mdn_synthetic.training.learning_rate"] == str(best_rate)
    assert "test_ari_mean" in parent.data.metrics
    artifacts = {
        a.path for a in mlflow.MlflowClient().list_artifacts(parent.info.run_id, "figures")
    }
    assert "figures/optimization_history.png" in artifacts

    written = kedro_project / "conf/mdn_synthetic_tuned/parameters_mdn_synthetic.yml"
    tuned = yaml.safe_load(written.read_text())["mdn_synthetic"]
    best = study.best_params
    assert tuned["training"]["learning_rate"] == best["mdn_synthetic.training.learning_rate"]
    assert tuned["data"] == {"n_samples": 700, "train_size": 600}  # the sweep's --params
    assert "batch_size" not in tuned["training"]  # only what differs from conf/base

    # --output: what the benchmark reads back.
    outcome = json.loads(outcome_file.read_text())
    assert outcome["finished_trials"] == 4
    assert outcome["new_trials"] == 4 - finished_before
    assert outcome["parent_run_id"] == parent.info.run_id
    assert outcome["best_value"] == pytest.approx(study.best_value)
    assert outcome["best_params"] == study.best_params
    assert outcome["trials_per_minute"] == pytest.approx(
        60 * outcome["new_trials"] / outcome["wall_seconds"]
    )
    assert 0 <= outcome["mean_outside_training_seconds"] < outcome["mean_trial_seconds"]
    assert outcome["test"]["metric"] == "test_ari" and 0 < outcome["test"]["mean"] <= 1


def test_a_trial_count_below_one_is_refused_before_anything_starts():
    from click.testing import CliRunner

    from advanced_dl.cli import cli

    result = CliRunner().invoke(cli, [*SWEEP, "--trials", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--trials': 0 is not in the range x>=1" in result.output


def test_an_unreachable_scheduler_is_named_before_any_trial():
    from advanced_dl.fanout.cluster import SchedulerUnreachableError, dask_client

    unreachable = "tcp://127.0.0.1:9"
    with (
        pytest.raises(SchedulerUnreachableError, match=r"127\.0\.0\.1:9 did not answer"),
        dask_client(address=unreachable, timeout=1),
    ):
        pass


def test_sweeps_of_one_study_started_at_once_share_one_parent_run(tmp_path, monkeypatch):
    import mlflow

    from advanced_dl.fanout.space import parse_space
    from advanced_dl.fanout.study import open_storage, open_study
    from advanced_dl.fanout.sweep import SweepSettings, _parent_run

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    space = {
        "objective": {"output": "training_history", "metric": "val_loss", "direction": "minimize"},
        "test": {"output": "test_metrics", "metric": "test_ari"},
        "parameters": {
            "training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}
        },
    }
    settings = SweepSettings(
        project_path=str(tmp_path),
        pipeline="mdn_synthetic",
        space=parse_space("mdn_synthetic", {"mdn_synthetic": space}),
        trials=4,
        env=None,
        runtime_params={},
        seed=42,
        test_seeds=(),
        environment_name=None,
    )

    def start_sweep():  # as run_sweep starts
        storage = open_storage(f"sqlite:///{tmp_path / 'mlflow-optuna.db'}")
        _, created = open_study("study", storage, settings.space)
        return _parent_run(settings, "study", created)

    parents, errors = all_at_once(4, start_sweep)
    assert errors == []
    # Every driver logs its trials under the same parent, and only that one is left.
    assert len(set(parents)) == 1
    runs = mlflow.search_runs(experiment_names=["mdn_synthetic"], output_format="list")
    assert [r.info.run_id for r in runs if r.data.tags.get("sweep") == "parent"] == parents[:1]


class _KilledHere(BaseException):
    """Stands for a SIGKILL: nothing after it runs."""


def test_a_driver_killed_right_after_asking_leaves_a_trial_a_later_sweep_fails(monkeypatch):
    import subprocess

    import optuna

    from advanced_dl.fanout import sweep

    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())

    def killed(*args, **kwargs):
        raise _KilledHere

    # The driver dies at its first write after the trial exists: labelling it.
    with monkeypatch.context() as patch:
        patch.setattr(study._storage, "set_trial_user_attr", killed)
        trial = sweep.ask_owned_trial(study)
    assert trial.user_attrs[sweep.OWNER_ATTRIBUTE] == sweep._owner()

    # A later sweep fails it once its driver is gone, and takes over a queued trial.
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead_owner = f"{sweep._owner().rpartition(':')[0]}:{gone.pid}"
    monkeypatch.setattr(sweep, "_owner", lambda: dead_owner)
    sweep.ask_owned_trial(study)
    study.enqueue_trial({}, user_attrs={sweep.OWNER_ATTRIBUTE: dead_owner})  # killed before asking
    monkeypatch.undo()
    assert sweep.fail_abandoned_trials(study) == 1
    taken = sweep.ask_owned_trial(study)
    assert taken.number == 2 and taken.user_attrs[sweep.OWNER_ATTRIBUTE] == sweep._owner()
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    assert states == ["RUNNING", "FAIL", "RUNNING"]
