"""Parameter schemas: one definition of each bound, and errors naming ``<pipeline>.<path>``."""

from __future__ import annotations

import copy

import pytest
import yaml

from advanced_dl.schema import (
    ParameterError,
    pipeline_schema,
    validate_run_parameters,
)
from tests.conftest import REPO_ROOT

PIPELINES = ("cora_gcn", "imdb_transformer", "mdn_synthetic", "nab_anomaly", "nab_benchmark")


def project_parameters() -> dict:
    params: dict = {}
    for path in sorted((REPO_ROOT / "conf" / "base").glob("parameters*.yml")):
        params.update(yaml.safe_load(path.read_text()))
    return params


def test_every_pipeline_declares_a_schema_and_its_defaults_pass():
    params = project_parameters()
    assert all(pipeline_schema(name) is not None for name in PIPELINES)
    validate_run_parameters(params, PIPELINES)


def _with(params: dict, path: str, value) -> dict:
    changed = copy.deepcopy(params)
    *parents, leaf = path.split(".")
    target = changed
    for key in parents:
        target = target[key]
    target[leaf] = value
    return changed


# One bound of each kind, and the pipelines that disagreed before (patience).
@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("seed", -1, "greater than or equal to 0"),
        ("seed", 4.0, "valid integer"),
        ("mdn_synthetic.training.epochs", 0, "greater than or equal to 1"),
        ("mdn_synthetic.training.epochs", 8.0, "valid integer"),
        ("mdn_synthetic.model.dropout_rate", 1.0, "less than 1"),
        ("nab_anomaly.training.validation_fraction", 0.0, "greater than 0"),
        ("imdb_transformer.training.learning_rate", 0, "greater than 0"),
        ("imdb_transformer.vectorisation.keep", "middle", "'last', 'first' or 'head_and_tail'"),
        ("cora_gcn.split", "planetiod", "'reference' or 'planetoid'"),
        ("cora_gcn.tsne.max_iter", 100, "greater than or equal to 250"),
        ("cora_gcn.training.gcn.early_stopping_patience", -1, "greater than or equal to 0"),
        ("cora_gcn.dataset", "pubmed", "'cora' or 'citeseer'"),
        ("cora_gcn.model.architecture", "gin", "'gcn', 'gat', 'gcnii' or 'grand'"),
        ("cora_gcn.training.grand.consistency.temperature", 0.0, "greater than 0"),
        ("cora_gcn.training.grand.consistency.confidence", 1.0, "less than 1"),
        ("cora_gcn.model.grand.hop_weights", "heat", "'uniform' or 'personalized_pagerank'"),
        ("cora_gcn.model.grand.teleport_probability", 0.0, "greater than 0"),
        ("cora_gcn.training.gat.early_stopping_monitor", "loss", "'val_loss'"),
        ("imdb_transformer.training.early_stopping_patience", -1, "greater than or equal to 0"),
        ("mdn_synthetic.training.distribution", "tpu", "'none' or 'mirrored'"),
        ("cora_gcn.training.distribution", "mirrored", "full-batch on one device"),
        ("nab_benchmark.detector.out_of_range.tolerance", -0.05, "greater than or equal to 0"),
        ("nab_benchmark.detector.out_of_range.cooldown_rows", 2.5, "valid integer"),
        ("nab_benchmark.selection.history_rows", [], "at least 1 item"),
        ("cora_gcn.training.grand.ema_momentum", 1.0, "less than 1"),
    ],
)
def test_a_bad_value_is_named_with_what_was_expected_and_given(path, value, expected):
    params = _with(project_parameters(), path, value)
    with pytest.raises(ParameterError) as error:
        validate_run_parameters(params, PIPELINES)
    message = str(error.value)
    assert f"'{path}'" in message and expected in message and f"got {value!r}" in message


def test_a_selection_grid_history_shorter_than_the_detector_needs_is_refused():
    params = _with(project_parameters(), "nab_benchmark.selection.history_rows", [500, 10])
    with pytest.raises(ParameterError) as error:
        validate_run_parameters(params, PIPELINES)
    message = str(error.value)
    assert "selection" in message
    assert "min_history_rows (20) must not exceed history_rows (10)" in message


def test_patience_zero_is_valid_everywhere():
    params = project_parameters()
    for name in ("cora_gcn.training.gcn", "imdb_transformer.training", "mdn_synthetic.training"):
        params = _with(params, f"{name}.early_stopping_patience", 0)
    validate_run_parameters(params, PIPELINES)


def test_typos_and_missing_keys_are_named_and_every_error_is_listed():
    params = project_parameters()
    params["mdn_synthetic"]["training"]["epochz"] = 3
    del params["cora_gcn"]["model"]["gat"]["hidden_units"]
    params["imdb_transformer"]["training"]["batch_size"] = 0
    with pytest.raises(ParameterError) as error:
        validate_run_parameters(params, PIPELINES)
    message = str(error.value)
    assert "'mdn_synthetic.training.epochz' is not a parameter of this pipeline" in message
    assert "'cora_gcn.model.gat.hidden_units' is missing" in message
    assert "'imdb_transformer.training.batch_size'" in message


def test_only_the_pipelines_being_run_are_checked():
    params = _with(project_parameters(), "cora_gcn.model.gcn.hidden_units", 0)
    validate_run_parameters(params, ["mdn_synthetic"])
    with pytest.raises(ParameterError, match=r"cora_gcn\.model\.gcn\.hidden_units"):
        validate_run_parameters(params, ["cora_gcn"])
    with pytest.raises(ParameterError, match="Parameter 'nab_anomaly' is missing"):
        validate_run_parameters({"seed": 1, "mixed_precision": False}, ["nab_anomaly"])


def test_the_reference_split_with_citeseer_is_refused_with_the_fix():
    params = _with(project_parameters(), "cora_gcn.dataset", "citeseer")
    with pytest.raises(
        ParameterError, match=r"'cora_gcn'.*Cora only.*'cora_gcn\.split' to 'planetoid'"
    ):
        validate_run_parameters(params, ["cora_gcn"])
    validate_run_parameters(_with(params, "cora_gcn.split", "planetoid"), ["cora_gcn"])


@pytest.mark.parametrize(
    ("architecture", "ensemble", "weights", "expected"),
    [
        ("grand", ["grand"], None, r"each architecture once"),
        ("grand", ["gcnii", "gcnii"], None, r"each architecture once"),
        ("grand", ["gat"], None, r"GAT reads the graph as A \+ I"),
        ("gcn", ["gcnii"], None, r"row_normalise_features differs: \{'gcn': False, 'gcnii'"),
        ("grand", ["pna"], None, r"'gcn', 'gat', 'gcnii' or 'grand'"),
        ("grand", ["gcnii"], [0.5, 0.4], r"ensemble_weights \[0.5, 0.4\] must give"),
        ("grand", [], [0.5, 0.5], r"ensemble_weights \[0.5, 0.5\] must give"),
    ],
)
def test_an_ensemble_whose_members_cannot_share_inputs_is_refused(
    architecture, ensemble, weights, expected
):
    params = _with(project_parameters(), "cora_gcn.model.architecture", architecture)
    params = _with(params, "cora_gcn.model.ensemble", ensemble)
    params = _with(params, "cora_gcn.model.ensemble_weights", weights)
    with pytest.raises(ParameterError, match=r"cora_gcn\.model.*" + expected):
        validate_run_parameters(params, ["cora_gcn"])
    valid = _with(params, "cora_gcn.model.architecture", "grand")
    valid = _with(valid, "cora_gcn.model.ensemble", ["gcnii"])
    for accepted in (None, [0.75, 0.25]):
        accepted_params = _with(valid, "cora_gcn.model.ensemble_weights", accepted)
        validate_run_parameters(accepted_params, ["cora_gcn"])


def test_every_environment_loads_and_validates_over_base():
    from kedro.config import OmegaConfigLoader

    from advanced_dl.settings import CONFIG_LOADER_ARGS

    base = project_parameters()
    conf = REPO_ROOT / "conf"
    environments = [path.name for path in conf.iterdir() if path.is_dir() and path.name != "base"]
    assert "tuned" in environments
    for env in environments:
        loader = OmegaConfigLoader(str(REPO_ROOT / "conf"), env=env, **CONFIG_LOADER_ARGS)
        params = loader["parameters"]
        validate_run_parameters(params, PIPELINES)
        # Soft merge: an environment changes only the keys it lists.
        assert params["imdb_transformer"]["baseline"] == base["imdb_transformer"]["baseline"]


def test_tuned_environment_changes_what_its_docs_list():
    from kedro.config import OmegaConfigLoader

    from advanced_dl.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(str(REPO_ROOT / "conf"), env="tuned", **CONFIG_LOADER_ARGS)
    tuned = loader["parameters"]["imdb_transformer"]
    reference = project_parameters()["imdb_transformer"]
    assert tuned["vectorisation"]["keep"] == "head_and_tail"
    assert tuned["model"]["bigram_buckets"] > 0
    assert tuned["training"]["schedule"] == "cosine"
    # The model's size and the reference's other choices stay as the reference's.
    assert tuned["model"]["embedding_dim"] == reference["model"]["embedding_dim"]
    assert tuned["data"] == reference["data"]


def test_nab_anomaly_checks_the_corpus_detector_it_reads_from_nab_benchmark():
    params = _with(project_parameters(), "nab_benchmark.detector.next_value.epochs", 0)
    validate_run_parameters(params, ["mdn_synthetic"])
    with pytest.raises(ParameterError, match=r"nab_benchmark\.detector\.next_value\.epochs"):
        validate_run_parameters(params, ["nab_anomaly"])
    params = _with(project_parameters(), "nab_anomaly.own_series.threshold", 1.5)
    with pytest.raises(ParameterError, match=r"nab_anomaly\.own_series\.threshold"):
        validate_run_parameters(params, ["nab_anomaly"])
