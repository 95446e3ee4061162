"""Search spaces: bad ones are named before any trial; conditional dimensions; the objective."""

from __future__ import annotations

import optuna
import pytest

from advanced_dl.fanout.space import (
    SearchSpaceError,
    check_space,
    objective_value,
    parse_space,
    suggest,
)

PARAMS = {
    "cora_gcn": {
        "model": {"architecture": "gcn", "gcn": {"dropout_rate": 0.5}, "gat": {"heads": 8}},
        "training": {"gcn": {"learning_rate": 0.01}},
    }
}
OUTPUTS = {"cora_gcn.training_history", "cora_gcn.test_metrics"}


def _space(parameters):
    return {
        "cora_gcn": {
            "objective": {
                "output": "training_history",
                "metric": "val_accuracy",
                "direction": "maximize",
            },
            "test": {"output": "test_metrics", "metric": "test_accuracy"},
            "parameters": parameters,
        }
    }


def test_a_space_is_parsed_and_its_conditional_dimension_follows_the_choice():
    space = parse_space(
        "cora_gcn",
        _space(
            {
                "model.architecture": {"type": "categorical", "choices": ["gcn", "gat"]},
                "training.gcn.learning_rate": {
                    "type": "float",
                    "low": 1e-3,
                    "high": 0.1,
                    "log": True,
                },
                "model.gat.heads": {
                    "type": "int",
                    "low": 2,
                    "high": 8,
                    "when": {"model.architecture": "gat"},
                },
            }
        ),
    )
    check_space(space, PARAMS, OUTPUTS)
    for architecture in ("gcn", "gat"):
        trial = optuna.trial.FixedTrial(
            {
                "cora_gcn.model.architecture": architecture,
                "cora_gcn.training.gcn.learning_rate": 0.01,
                "cora_gcn.model.gat.heads": 4,
            }
        )
        chosen = suggest(space, trial, PARAMS)
        assert ("cora_gcn.model.gat.heads" in chosen) == (architecture == "gat")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"model.gcn.dropout_rate": {"type": "float", "low": 0.5, "high": 0.5}}, "empty range"),
        (
            {"model.gcn.dropout_rate": {"type": "float", "low": 0.0, "high": 0.5, "log": True}},
            "log scale",
        ),
        ({"model.architecture": {"type": "categorical", "choices": []}}, "non-empty list"),
        (
            {"model.gcn.dropout": {"type": "float", "low": 0.1, "high": 0.5}},
            "not a parameter of cora_gcn",
        ),
        ({"model.gcn.dropout_rate": {"type": "uniform", "low": 0.1, "high": 0.5}}, "type"),
    ],
)
def test_bad_spaces_name_the_entry(parameters, message):
    with pytest.raises(SearchSpaceError, match=message):
        check_space(parse_space("cora_gcn", _space(parameters)), PARAMS, OUTPUTS)


def test_a_pipeline_without_a_space_says_where_to_put_one():
    with pytest.raises(SearchSpaceError, match=r"conf/base/sweeps/mdn_synthetic\.yml"):
        parse_space("mdn_synthetic", _space({}))


def test_the_objective_is_the_kept_epochs_value():
    history = {"val_accuracy": [0.5, 0.8, 0.7], "best_epoch": 1}
    assert objective_value(history, "val_accuracy") == 0.8
    assert objective_value({"val_accuracy": [0.5, 0.6]}, "val_accuracy") == 0.6
    with pytest.raises(SearchSpaceError, match="val_loss"):
        objective_value(history, "val_loss")
