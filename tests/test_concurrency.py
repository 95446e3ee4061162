"""Runs started together in one checkout: none crashes, each records what it really did."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import KEDRO, run_kedro
from tests.tracking_server import free_port, postgres_bin, postgres_tracking_server

TINY = (
    "mdn_synthetic.data.n_samples=700,mdn_synthetic.data.train_size=600,"
    "mdn_synthetic.training.epochs=3"
)
SEEDS = (1, 2, 3)


def _start(project: Path, seed: int, uri: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(KEDRO), "run", "--pipelines", "mdn_synthetic", "--params", f"{TINY},seed={seed}"],
        cwd=project,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "MLFLOW_TRACKING_URI": uri},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _metrics_by_seed(uri: str) -> dict[int, dict[str, float]]:
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("mdn_synthetic")
    runs = client.search_runs([experiment.experiment_id])
    assert all(run.info.status == "FINISHED" for run in runs)
    return {int(run.data.params["seed"]): run.data.metrics for run in runs}


def _assert_equal_to_solo_run(project: Path, recorded: dict, seed: int, tmp_path: Path) -> None:
    """Run one seed's command alone, on a store of its own; its metrics must be identical
    to those it recorded when started with the others (one solo run keeps the test short)."""
    alone = f"sqlite:///{tmp_path / 'alone.db'}"
    run_kedro(
        project,
        "run",
        "--pipelines",
        "mdn_synthetic",
        "--params",
        f"{TINY},seed={seed}",
        MLFLOW_TRACKING_URI=alone,
    )
    solo = _metrics_by_seed(alone)[seed]
    for name in ("test_ari", "test_nmi", "test_nll", "mean_error_max"):
        assert recorded[seed][name] == solo[name], (seed, name)


@pytest.mark.slow
def test_runs_started_together_on_a_new_store_match_their_solo_runs(kedro_project, tmp_path):
    together = f"sqlite:///{kedro_project / 'mlflow.db'}"
    assert not (kedro_project / "mlflow.db").exists()
    runs = [_start(kedro_project, seed, together) for seed in SEEDS]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-4000:]
    recorded = _metrics_by_seed(together)
    assert sorted(recorded) == list(SEEDS)
    registry = MlflowClient(tracking_uri=together).search_model_versions("name='mdn_synthetic'")
    assert sorted(int(v.version) for v in registry) == [1, 2, 3]

    _assert_equal_to_solo_run(kedro_project, recorded, SEEDS[1], tmp_path)
    # Each run kept its own copy of every file it wrote.
    samples = kedro_project / "data/03_primary/mdn_synthetic/samples.parquet"
    assert len(list(samples.iterdir())) == len(SEEDS) + 1


@pytest.mark.slow
def test_an_unreachable_tracking_server_is_reported_within_seconds(kedro_project):
    uri = f"http://127.0.0.1:{free_port()}"  # a loopback port nothing listens on
    start = time.monotonic()
    completed = run_kedro(
        kedro_project,
        "run",
        "--pipelines",
        "mdn_synthetic",
        MLFLOW_TRACKING_URI=uri,
        expect_failure=True,
        timeout=120,
    )
    elapsed = time.monotonic() - start
    output = completed.stdout + completed.stderr
    assert f"MLflow tracking server {uri} is unreachable" in output
    assert "unset MLFLOW_TRACKING_URI" in output
    assert elapsed < 60, elapsed  # start-up included; MLflow alone retried for minutes
    assert not any((kedro_project / "data").rglob("*.parquet"))


@pytest.mark.slow
@pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed")
def test_a_team_server_records_runs_started_together_and_serves_their_models(
    kedro_project, tmp_path
):
    import mlflow
    import pandas as pd

    seeds = (21, 22, 23)
    with postgres_tracking_server(tmp_path / "server") as uri:
        runs = [_start(kedro_project, seed, uri) for seed in seeds]
        outputs = [run.communicate(timeout=600)[0] for run in runs]
        for run, output in zip(runs, outputs, strict=True):
            assert run.returncode == 0, output[-4000:]
        recorded = _metrics_by_seed(uri)
        assert sorted(recorded) == list(seeds)

        client = MlflowClient(tracking_uri=uri)
        versions = client.search_model_versions("name='mdn_synthetic'")
        assert sorted(int(v.version) for v in versions) == [1, 2, 3]
        mlflow.set_tracking_uri(uri)
        points = pd.DataFrame({"x1": [2.0, -2.0], "x2": [2.0, -2.0]})
        for version in versions:
            from_run = mlflow.pyfunc.load_model(f"runs:/{version.run_id}/model")
            from_registry = mlflow.pyfunc.load_model(f"models:/mdn_synthetic/{version.version}")
            pd.testing.assert_frame_equal(from_run.predict(points), from_registry.predict(points))
    # That runs started together record their solo metrics is the SQLite test's: the
    # server only records them.
