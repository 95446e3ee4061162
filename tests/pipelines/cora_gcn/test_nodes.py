"""``cora_gcn`` nodes on a tiny hand-made citation graph."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.sparse as sp

from advanced_dl.io.cora import parse_cites, parse_content
from advanced_dl.pipelines.cora_gcn.nodes import (
    build_graph,
    build_graph_filter,
    build_masks,
    encode_labels,
)
from tests.synthetic_cora import EDGES, cites_text, content_text


def tiny_cora() -> dict:
    return {
        "content": parse_content(content_text(), "cora.content"),
        "citations": parse_cites(cites_text(), "cora.cites"),
    }


@pytest.fixture
def tiny_graph() -> dict:
    return build_graph(tiny_cora(), {}, "reference", {"val_size": 1})


def test_graph_is_undirected_without_dangling_or_self_citations(tiny_graph, caplog):
    with caplog.at_level(logging.WARNING):
        build_graph(tiny_cora(), {}, "reference", {"val_size": 1})
    assert "Dropped 1 citations naming 1 papers absent" in caplog.text
    adjacency = tiny_graph["adjacency"].toarray()
    expected = np.zeros((6, 6), dtype=np.float32)
    for i, j in EDGES:
        expected[i, j] = expected[j, i] = 1.0
    np.testing.assert_array_equal(adjacency, expected)
    assert tiny_graph["features"].shape == (6, 3)
    assert tiny_graph["node_ids"].tolist() == ["p1", "p2", "p3", "p4", "p5", "p6"]


def test_filter_matches_dense_numpy(tiny_graph):
    graph_filter = build_graph_filter(tiny_graph).toarray()
    a_plus_i = tiny_graph["adjacency"].toarray() + np.eye(6)
    d_inv_sqrt = np.diag(1.0 / np.sqrt(a_plus_i.sum(axis=1)))
    expected = d_inv_sqrt @ a_plus_i @ d_inv_sqrt
    assert graph_filter.dtype == np.float32
    np.testing.assert_allclose(graph_filter, expected, rtol=1e-6)
    np.testing.assert_allclose(graph_filter, graph_filter.T)


def test_labels_are_one_hot_in_sorted_class_order(tiny_graph):
    labels, class_names = encode_labels(tiny_graph)
    assert class_names == ["Neural_Networks", "Theory"]
    assert labels.dtype == np.float32
    np.testing.assert_array_equal(labels.argmax(axis=1), [1, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(labels.sum(axis=1), np.ones(6))


def test_reference_masks_take_first_per_class_then_validation_then_test(tiny_graph):
    labels, _ = encode_labels(tiny_graph)
    masks = build_masks(tiny_graph, labels, {"train_per_class": 1, "val_size": 2, "test_size": 2})
    assert np.flatnonzero(masks["train"]).tolist() == [0, 1]
    assert np.flatnonzero(masks["val"]).tolist() == [2, 3]
    assert np.flatnonzero(masks["test"]).tolist() == [4, 5]
    with pytest.raises(ValueError, match="exceed the 4 labelled nodes left"):
        build_masks(tiny_graph, labels, {"train_per_class": 1, "val_size": 3, "test_size": 2})


def test_planetoid_masks_use_the_given_indices(tiny_graph):
    labels, _ = encode_labels(tiny_graph)
    graph = {
        **tiny_graph,
        "source": "planetoid",
        "train_index": np.array([0, 1]),
        "val_index": np.array([2]),
        "test_index": np.array([4, 5]),
    }
    masks = build_masks(graph, labels, {})
    assert [np.flatnonzero(m).tolist() for m in masks.values()] == [[0, 1], [2], [4, 5]]


def test_planetoid_graph_validates_after_the_training_nodes():
    planetoid = {
        "features": sp.csr_matrix(np.eye(6, 3, dtype=np.float32)),
        "labels": np.array([0, 1, 0, -1, 1, 0]),
        "adjacency": sp.csr_matrix(np.eye(6, k=1) + np.eye(6, k=-1), dtype=np.float32),
        "train_index": np.array([0, 1]),
        "test_index": np.array([4, 5]),
        "n_known": 4,
    }
    graph = build_graph(tiny_cora(), planetoid, "planetoid", {"val_size": 2})
    assert graph["source"] == "planetoid" and graph["val_index"].tolist() == [2, 3]
    assert graph["subjects"][3] == ""  # an unlabelled node keeps no subject
    with pytest.raises(ValueError, match=r"planetoid_split\.val_size' \(3\)"):
        build_graph(tiny_cora(), planetoid, "planetoid", {"val_size": 3})
