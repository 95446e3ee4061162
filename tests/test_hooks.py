"""Which MLflow experiment a run goes to."""

from kedro.pipeline import Node, Pipeline

from advanced_dl.hooks import pipeline_experiment_name


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
