"""``kedro seeds``: one MLflow run per seed, tagged together, summarised per metric."""

from __future__ import annotations

import json
import math
import statistics

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from advanced_dl.fanout.seeds import format_summary, parse_seeds, summarise
from tests.conftest import latest_run, run_kedro


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("42-45", [42, 43, 44, 45]), ("7", [7]), ("1,5-7, 3", [1, 5, 6, 7, 3]), ("4,4-5", [4, 5])],
)
def test_seed_lists_and_ranges(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize(
    ("text", "message"), [("", "No seeds"), ("9-3", "backwards"), ("a", "integers")]
)
def test_bad_seed_lists_are_named(text, message):
    with pytest.raises(ValueError, match=message):
        parse_seeds(text)


def test_summary_is_the_mean_and_sample_standard_deviation():
    summary = summarise([0.80, 0.82, 0.84])
    assert summary.mean == pytest.approx(0.82)
    assert summary.std == pytest.approx(0.02)  # n - 1 in the denominator
    assert (summary.minimum, summary.maximum, summary.count) == (0.80, 0.84, 3)
    assert math.isnan(summarise([1.0]).std)


@pytest.fixture
def store(tmp_path):
    """This process's MLflow pointed at a throw-away store, and back after the test."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    yield
    mlflow.set_tracking_uri(previous)


def test_a_seed_is_logged_with_its_parameters_run_level_metrics_and_curves(store):
    import os

    from advanced_dl.fanout.seeds import SeedSweep, log_seed_run, metrics_outputs

    sweep = SeedSweep("cora_gcn", "abc", {}, "gat")
    for seed in (1, 2, 3):
        outputs = {
            "cora_gcn.test_metrics": {"test_accuracy": 0.8 + seed / 100},
            "cora_gcn.training_history": {"val_loss": [1.0, 0.5, seed / 10], "fit_seconds": 2.0},
        }
        params = {"cora_gcn": {"dataset": "citeseer"}, "seed": seed}
        run_id, metrics = log_seed_run(
            "cora_gcn", params, "gat", outputs, {"seed_sweep": "abc"}, seconds=2.5
        )
        sweep.runs[seed], sweep.metrics[seed] = run_id, metrics
    client = MlflowClient()
    run = client.get_run(sweep.runs[2])
    assert run.data.tags["seed_sweep"] == "abc" and run.data.tags["env"] == "gat"
    assert run.data.params == {"cora_gcn.dataset": "citeseer", "seed": "2"}
    assert [m.value for m in client.get_metric_history(run.info.run_id, "val_loss")] == [
        1.0,
        0.5,
        0.2,
    ]
    assert run.data.metrics["outside_training_seconds"] == pytest.approx(0.5)
    summary = sweep.summary()
    assert "val_loss" not in summary  # a curve, not a run-level metric
    assert summary["test_accuracy"].mean == pytest.approx(0.82)
    assert summary["test_accuracy"].std == pytest.approx(0.01)
    assert mlflow.active_run() is None
    # The process's active experiment is left alone (kedro children inherit its variable).
    assert "MLFLOW_EXPERIMENT_ID" not in os.environ
    text = format_summary(sweep)
    assert "3 seeds (1, 2, 3)" in text and "seed_sweep=abc" in text
    with pytest.raises(ValueError, match=r"\['val_loss'\] are not logged by every run"):
        sweep.summary(["val_loss"])
    assert metrics_outputs(["a.test_metrics", "a.model", "a.training_history"]) == (
        "a.test_metrics",
        "a.training_history",
    )


@pytest.mark.slow
def test_kedro_seeds_runs_each_seed_as_kedro_run_would(kedro_project, mirror):
    params = (
        "cora_gcn.split=planetoid,cora_gcn.training.gcn.epochs=3,cora_gcn.training.verbose=false,"
        "cora_gcn.tsne.max_nodes=150,cora_gcn.tsne.max_iter=250"
    )
    output = kedro_project / "sweep.json"
    result = run_kedro(
        kedro_project,
        "seeds",
        "--pipelines",
        "cora_gcn",
        "--seeds",
        "42-43",
        "--params",
        params,
        "--metrics",
        "test_accuracy,mean_epoch_seconds",
        "--output",
        str(output),
    )
    sweep = json.loads(output.read_text())
    assert [run["seed"] for run in sweep["runs"]] == [42, 43]
    accuracies = [run["metrics"]["test_accuracy"] for run in sweep["runs"]]
    assert sweep["summary"]["test_accuracy"]["mean"] == pytest.approx(statistics.fmean(accuracies))
    assert sweep["summary"]["test_accuracy"]["std"] == pytest.approx(statistics.stdev(accuracies))
    assert "test_accuracy" in result.stdout and sweep["seed_sweep"] in result.stdout
    client = MlflowClient(tracking_uri=f"sqlite:///{kedro_project / 'mlflow.db'}")
    for run in sweep["runs"]:
        logged = client.get_run(run["run_id"])
        assert logged.data.tags["seed_sweep"] == sweep["seed_sweep"]
        assert logged.data.params["seed"] == str(run["seed"])
    # A seed in a sweep gives what `kedro run` gives with that seed.
    run_kedro(kedro_project, "run", "--pipelines", "cora_gcn", "--params", f"seed=42,{params}")
    _, alone = latest_run(kedro_project, "cora_gcn")
    assert alone.data.metrics["test_accuracy"] == accuracies[0]
