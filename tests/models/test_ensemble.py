"""The probability ensemble: the members' mean, their own randomness, the .keras round trip."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.sparse as sp

from advanced_dl.features.graph import gcn_filter, model_inputs, node_probabilities
from advanced_dl.models import hidden_activations_model
from advanced_dl.models.ensemble import build_probability_ensemble, ensemble_members
from advanced_dl.models.gcn import build_gcn
from advanced_dl.models.gcnii import build_gcnii
from advanced_dl.models.grand import build_grand

N_NODES, N_FEATURES, N_CLASSES = 6, 4, 3


@pytest.fixture(scope="module")
def graph():
    rng = np.random.default_rng(0)
    features = sp.csr_matrix((rng.random((N_NODES, N_FEATURES)) < 0.6).astype(np.float32))
    ring = np.roll(np.eye(N_NODES), 1, axis=1) + np.roll(np.eye(N_NODES), -1, axis=1)
    return features, gcn_filter(sp.csr_matrix(ring.astype(np.float32)))


def _members():
    keras.utils.set_random_seed(2)
    grand = build_grand(N_NODES, N_FEATURES, N_CLASSES, order=2, hidden_units=4)
    gcnii = build_gcnii(N_NODES, N_FEATURES, N_CLASSES, layers=2, hidden_units=4)
    for member in (grand, gcnii):
        member.optimizer.build(member.trainable_variables)  # as after training
    return grand, gcnii


def test_ensemble_predicts_the_mean_of_its_members_and_shares_their_weights(graph):
    features, graph_filter = graph
    grand, gcnii = _members()
    ensemble = build_probability_ensemble([grand, gcnii])
    inputs = model_inputs(features, graph_filter)
    expected = (np.asarray(grand(inputs)) + np.asarray(gcnii(inputs))) / 2
    np.testing.assert_allclose(np.asarray(ensemble(inputs, training=False)), expected, rtol=1e-6)
    assert ensemble_members(ensemble) == [grand, gcnii]
    assert ensemble_members(grand) == [grand]
    assert len(ensemble.trainable_weights) == len(grand.trainable_weights) + len(
        gcnii.trainable_weights
    )
    # Monte Carlo averaging reaches every member: each training-mode pass draws anew.
    sampled = node_probabilities(ensemble, features, graph_filter, inference_samples=4)
    assert not np.allclose(sampled, expected)
    np.testing.assert_allclose(sampled.sum(axis=1), 1.0, rtol=1e-5)


def test_ensemble_saves_and_reloads_with_the_same_predictions(graph, tmp_path):
    features, graph_filter = graph
    ensemble = build_probability_ensemble(list(_members()))
    inputs = model_inputs(features, graph_filter)
    probabilities = np.asarray(ensemble(inputs, training=False))
    ensemble.save(tmp_path / "ensemble.keras")
    reloaded = keras.saving.load_model(tmp_path / "ensemble.keras", compile=False)
    reloaded_probabilities = np.asarray(reloaded(inputs, training=False))
    np.testing.assert_allclose(reloaded_probabilities, probabilities, rtol=1e-6)
    assert [m.name for m in ensemble_members(reloaded)] == ["grand", "gcnii"]
    # The figures read the first member's hidden layer.
    hidden = np.asarray(hidden_activations_model(reloaded)(inputs, training=False))
    assert hidden.shape == (N_NODES, 4)


def test_member_weights_weigh_the_mean(graph):
    features, graph_filter = graph
    grand, gcnii = _members()
    ensemble = build_probability_ensemble([grand, gcnii], member_weights=[0.75, 0.25])
    inputs = model_inputs(features, graph_filter)
    expected = 0.75 * np.asarray(grand(inputs)) + 0.25 * np.asarray(gcnii(inputs))
    np.testing.assert_allclose(np.asarray(ensemble(inputs, training=False)), expected, rtol=1e-6)
    for bad in ([0.5, 0.25], [1.0, 0.0], [0.5, 0.25, 0.25]):
        with pytest.raises(ValueError, match="member_weights"):
            build_probability_ensemble([grand, gcnii], member_weights=bad)


def test_members_must_match_and_be_told_apart():
    grand, _ = _members()
    with pytest.raises(ValueError, match="at least 2"):
        build_probability_ensemble([grand])
    with pytest.raises(ValueError, match="distinct names"):
        build_probability_ensemble([grand, grand])
    other_classes = build_gcn(N_NODES, N_FEATURES, N_CLASSES + 1, hidden_units=4)
    with pytest.raises(ValueError, match="output shape"):
        build_probability_ensemble([grand, other_classes])
