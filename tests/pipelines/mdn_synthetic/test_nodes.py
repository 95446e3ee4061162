"""Nodes of mdn_synthetic on tiny inputs."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from advanced_dl.pipelines.mdn_synthetic import nodes

DATA = {
    "n_samples": 400,
    "train_size": 300,
    "mixture_weights": [0.2, 0.4, 0.3, 0.1],
    "means": [[2.0, 2.0], [-2.0, 2.0], [-2.0, -2.0], [2.0, -2.0]],
    "variances": [[0.5, 0.5], [1.0, 1.0], [0.5, 0.5], [1.0, 1.0]],
}
MODEL = {
    "num_components": 4,
    "hidden_units": 8,
    "dropout_rate": 0.2,
    "min_scale": 0.05,
    "init_from_targets": True,
}
TRAINING = {
    "batch_size": 64,
    "epochs": 1,
    "validation_fraction": 0.2,
    "learning_rate": 0.001,
    "hold_epochs": 4,
    "decay_rate": 0.1,
    "distribution": "none",
    "early_stopping_patience": 16,
    "early_stopping_min_delta": 0.01,
}


def _with(base: dict, **changes) -> dict:
    updated = copy.deepcopy(base)
    updated.update(changes)
    return updated


def test_generated_samples_follow_the_mixture_and_the_seed():
    samples = nodes.generate_mixture_samples(DATA, seed=3)
    assert list(samples.columns) == ["x1", "x2", "y1", "y2", "component"]
    assert len(samples) == 400
    means = np.asarray(DATA["means"])
    np.testing.assert_array_equal(samples[["y1", "y2"]].to_numpy(), means[samples["component"]])
    pd.testing.assert_frame_equal(samples, nodes.generate_mixture_samples(DATA, seed=3))
    assert not samples.equals(nodes.generate_mixture_samples(DATA, seed=4))


def test_variances_act_as_variances():
    big = _with(DATA, n_samples=20000, train_size=100, mixture_weights=[1.0, 0, 0, 0])
    samples = nodes.generate_mixture_samples(big, seed=0)
    assert samples["x1"].var() == pytest.approx(0.5, rel=0.05)


def test_split_keeps_order():
    samples = nodes.generate_mixture_samples(DATA, seed=0)
    train, test = nodes.split_samples(samples, DATA)
    assert (len(train), len(test)) == (300, 100)
    pd.testing.assert_frame_equal(test, samples.iloc[300:].reset_index(drop=True))


def test_initial_mixture_finds_the_target_values():
    y = np.repeat(np.asarray(DATA["means"]), [10, 20, 30, 40], axis=0)
    start = nodes.initial_mixture(y, 4, seed=0)
    found = sorted(map(tuple, np.round(start["initial_means"], 6)))
    assert found == sorted(map(tuple, DATA["means"]))
    assert sorted(np.round(start["initial_weights"], 3)) == pytest.approx(
        [11 / 104, 21 / 104, 31 / 104, 41 / 104], abs=1e-3
    )


def _perfect_predictions(test: pd.DataFrame, permutation: list[int]) -> pd.DataFrame:
    """Predictions that put each row in a (relabelled) true component with the true mean."""
    k = 4
    means = np.asarray(DATA["means"])
    rows = {"predicted_component": [permutation[c] for c in test["component"]]}
    for j in range(k):
        rows[f"weight_{j}"] = [1.0 if permutation[c] == j else 0.0 for c in test["component"]]
    inverse = {permutation[c]: c for c in range(k)}
    for j in range(k):
        for d in range(2):
            rows[f"mean_{j}_{d}"] = [means[inverse[j], d]] * len(test)
    for j in range(k):
        rows[f"scale_{j}"] = [0.1] * len(test)
    return pd.DataFrame(rows)


def test_evaluation_of_a_perfect_relabelled_prediction():
    _, test = nodes.split_samples(nodes.generate_mixture_samples(DATA, seed=0), DATA)
    metrics = nodes.evaluate_mixture(test, _perfect_predictions(test, [2, 0, 3, 1]), DATA)
    assert metrics["test_ari"] == pytest.approx(1.0)
    assert metrics["test_nmi"] == pytest.approx(1.0)
    assert metrics["mean_error_max"] == pytest.approx(0.0, abs=1e-12)
    # Each y sits on its component's mean with scale 0.1: NLL = log(2 pi 0.01).
    assert metrics["test_nll"] == pytest.approx(np.log(2 * np.pi * 0.01))
    assert 0.5 < metrics["bayes_optimal_ari"] <= 1.0


def test_match_components_reports_the_worst_mean():
    predicted = np.array([0, 1, 1])
    means = np.zeros((3, 2, 2))
    means[:, 0] = [1.0, 1.0]
    means[:, 1] = [5.0, 5.0]
    matches = nodes.match_components(
        predicted, means, np.full((3, 2), 0.5), np.array([[5.0, 5.5], [1.0, 1.0]])
    )
    assert matches[0] == (1, pytest.approx(0.5))
    assert matches[1] == (0, pytest.approx(0.0))


def test_bayes_optimal_components_pick_the_nearest_equal_cluster():
    params = _with(DATA, mixture_weights=[0.25] * 4, variances=[[1.0, 1.0]] * 4)
    x = np.asarray([[1.9, 2.1], [-2.0, -1.5]])
    assert nodes.bayes_optimal_components(x, params).tolist() == [0, 2]


def test_one_epoch_training_predicts_every_test_row():
    train, test = nodes.split_samples(nodes.generate_mixture_samples(DATA, seed=0), DATA)
    model, history = nodes.train_mdn(train, MODEL, TRAINING, seed=0)
    assert history["epochs_trained"] == 1
    assert set(history) >= {"loss", "val_loss", "learning_rate", "fit_seconds"}
    predictions = nodes.predict_mixture(model, test)
    assert len(predictions) == len(test)
    assert predictions["predicted_component"].between(0, 3).all()
    np.testing.assert_allclose(
        predictions[[f"weight_{k}" for k in range(4)]].sum(axis=1), 1.0, rtol=1e-5
    )
    served = nodes.build_served_model(model, test)
    assert served.num_components == 4
    assert list(served.input_example.columns) == ["x1", "x2"]
