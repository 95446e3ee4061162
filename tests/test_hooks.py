"""Project hooks: the experiment a run goes to, and parameters checked before anything runs."""

import pytest
from kedro.pipeline import Node, Pipeline

from advanced_dl.hooks import pipeline_experiment_name
from tests.conftest import run_kedro


def _identity(x):
    return x


def _pipeline(namespace: str) -> Pipeline:
    return Pipeline([Node(_identity, "a", "b", name="identity")], namespace=namespace)


def test_single_namespace_names_the_experiment():
    assert (
        pipeline_experiment_name(_pipeline("mdn_synthetic"), ["mdn_synthetic"]) == "mdn_synthetic"
    )
    # A node subset (``--nodes``) still belongs to its pipeline's experiment.
    assert pipeline_experiment_name(_pipeline("cora_gcn"), ["__default__"]) == "cora_gcn"


def test_mixed_namespaces_keep_the_default():
    both = _pipeline("mdn_synthetic") + _pipeline("cora_gcn")
    assert pipeline_experiment_name(both, ["__default__"]) is None
    assert pipeline_experiment_name(both, ["mdn_synthetic"]) == "mdn_synthetic"


@pytest.mark.slow
def test_bad_parameters_stop_the_run_before_any_data_or_tracking(kedro_project):
    completed = run_kedro(
        kedro_project,
        "run",
        "--pipelines",
        "mdn_synthetic",
        "--params",
        "mdn_synthetic.training.epochs=0,mdn_synthetic.model.dropout_rate=1.5",
        expect_failure=True,
    )
    output = completed.stdout + completed.stderr
    assert "Parameter 'mdn_synthetic.training.epochs': Input should be greater than" in output
    assert "Parameter 'mdn_synthetic.model.dropout_rate'" in output
    assert not any((kedro_project / "data").rglob("*.parquet"))  # no node ran
    assert not (kedro_project / "mlruns").exists()
    import mlflow

    client = mlflow.tracking.MlflowClient(f"sqlite:///{kedro_project / 'mlflow.db'}")
    assert client.get_experiment_by_name("mdn_synthetic") is None  # no run was opened


@pytest.mark.slow
def test_an_unknown_pipeline_is_named_with_the_ones_that_exist(kedro_project):
    completed = run_kedro(kedro_project, "run", "--pipelines", "nab_anomalyy", expect_failure=True)
    assert "unknown pipeline 'nab_anomalyy'; did you mean 'nab_anomaly'?" in completed.stderr
    known = "cora_gcn, imdb_pretrain, imdb_transformer, mdn_synthetic, nab_anomaly"
    assert known in completed.stderr


def test_a_run_reads_back_the_version_it_wrote(tmp_path):
    from kedro.io import DataCatalog, Version
    from kedro_datasets.json import JSONDataset

    from advanced_dl.hooks import pin_versions, run_version

    path = str(tmp_path / "scaler.json")
    catalog = DataCatalog(
        {"scaler": JSONDataset(filepath=path, version=Version(None, "2026-01-01T00.00.00.000Z"))}
    )
    version = run_version("2026-01-01T00.00.00.000Z", pid=7)
    assert version == "2026-01-01T00.00.00.000Z-7"
    assert pin_versions(catalog, ["scaler", "absent"], version) == ["scaler"]
    catalog.save("scaler", {"mean": 1.0})
    # A run started at the same moment writes a newer version of the same dataset.
    JSONDataset(filepath=path, version=Version(None, version + "9")).save({"mean": 2.0})
    assert catalog.load("scaler") == {"mean": 1.0}
    assert JSONDataset(filepath=path, version=Version(None, None)).load() == {"mean": 2.0}


def test_a_cached_dataset_is_pinned_through_its_wrapper(tmp_path):
    from kedro.io import CachedDataset, DataCatalog, Version

    from advanced_dl.hooks import pin_versions, publish_versions

    path = str(tmp_path / "model.json")
    cached = CachedDataset(
        {"type": "json.JSONDataset", "filepath": path}, version=Version(None, None)
    )
    catalog = DataCatalog({"model": cached})
    assert pin_versions(catalog, ["model"], "v-1") == ["model"]
    catalog.save("model", {"w": 1})
    # Until the run has finished, the file is where no search for versions looks.
    assert (tmp_path / ".unfinished" / "model.json" / "v-1" / "model.json").is_file()
    assert not (tmp_path / "model.json").exists()
    assert publish_versions(catalog, ["model"], "v-1") == ["model"]
    assert (tmp_path / "model.json" / "v-1" / "model.json").is_file()
    assert not (tmp_path / ".unfinished").exists()
    assert catalog.load("model") == {"w": 1}


def test_files_from_before_versioning_are_named_before_the_run(tmp_path):
    from kedro.io import DataCatalog, DatasetError, Version
    from kedro_datasets.json import JSONDataset

    from advanced_dl.hooks import pin_versions

    old = tmp_path / "scaler.json"
    old.write_text("{}")  # an unversioned file where the versioned folder belongs
    catalog = DataCatalog({"scaler": JSONDataset(filepath=str(old), version=Version(None, "v"))})
    with pytest.raises(DatasetError, match=r"written before runs were versioned.*scaler\.json"):
        pin_versions(catalog, ["scaler"], "v-1")


def _system_monitor_threads() -> list:
    import threading

    return [t for t in threading.enumerate() if t.name == "SystemMetricsMonitor" and t.is_alive()]


def test_one_system_metrics_monitor_per_run_even_when_nodes_reenter_it(tmp_path):
    import threading

    import mlflow

    from advanced_dl.hooks import SystemMetricsHook

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    hook = SystemMetricsHook()
    try:
        with mlflow.start_run() as run:
            hook.before_pipeline_run()

            # kedro-mlflow re-opens the run in each node's thread.
            def reenter():
                mlflow.start_run(run_id=run.info.run_id)

            worker = threading.Thread(target=reenter)
            worker.start()
            worker.join()
            assert len(_system_monitor_threads()) == 1
            hook.after_pipeline_run()
        assert _system_monitor_threads() == []
        client = mlflow.MlflowClient()
        history = client.get_metric_history(run.info.run_id, "system/cpu_utilization_percentage")
        # A run shorter than the sampling interval still gets its one sample.
        assert [point.step for point in history] == [0]
    finally:
        mlflow.set_tracking_uri(None)
