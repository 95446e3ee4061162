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
    build_node_features,
    encode_labels,
    neighbourhood_weights,
)
from tests.synthetic_cora import EDGES, cites_text, content_text


def tiny_cora() -> dict:
    return {
        "content": parse_content(content_text(), "cora.content"),
        "citations": parse_cites(cites_text(), "cora.cites"),
    }


@pytest.fixture
def tiny_graph() -> dict:
    return build_graph(tiny_cora(), {}, "cora", "reference", {"val_size": 1})


def test_graph_is_undirected_without_dangling_or_self_citations(tiny_graph, caplog):
    with caplog.at_level(logging.WARNING):
        build_graph(tiny_cora(), {}, "cora", "reference", {"val_size": 1})
    assert "Dropped 1 citations naming 1 papers absent" in caplog.text
    adjacency = tiny_graph["adjacency"].toarray()
    expected = np.zeros((6, 6), dtype=np.float32)
    for i, j in EDGES:
        expected[i, j] = expected[j, i] = 1.0
    np.testing.assert_array_equal(adjacency, expected)
    assert tiny_graph["features"].shape == (6, 3)
    assert tiny_graph["node_ids"].tolist() == ["p1", "p2", "p3", "p4", "p5", "p6"]


GCN = {"architecture": "gcn", "gcn": {"row_normalise_features": False}}
GAT = {"architecture": "gat", "gat": {"row_normalise_features": True}}


def test_filter_matches_dense_numpy(tiny_graph):
    graph_filter = build_graph_filter(tiny_graph, GCN).toarray()
    a_plus_i = tiny_graph["adjacency"].toarray() + np.eye(6)
    d_inv_sqrt = np.diag(1.0 / np.sqrt(a_plus_i.sum(axis=1)))
    expected = d_inv_sqrt @ a_plus_i @ d_inv_sqrt
    assert graph_filter.dtype == np.float32
    np.testing.assert_allclose(graph_filter, expected, rtol=1e-6)
    np.testing.assert_allclose(graph_filter, graph_filter.T)


def test_gat_attends_over_each_node_and_its_neighbours(tiny_graph):
    support = build_graph_filter(tiny_graph, GAT)
    expected = tiny_graph["adjacency"].toarray() + np.eye(6)
    assert support.dtype == np.float32
    np.testing.assert_array_equal(support.toarray(), expected)


def test_features_are_row_normalised_only_when_the_architecture_asks():
    graph = {"features": sp.csr_matrix(np.array([[1, 1, 0, 2], [0, 0, 0, 0]], dtype=np.float32))}
    np.testing.assert_array_equal(
        build_node_features(graph, GCN).toarray(), graph["features"].toarray()
    )
    scaled = build_node_features(graph, GAT)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled.toarray(), [[0.25, 0.25, 0, 0.5], [0, 0, 0, 0]])


def test_gcn_neighbourhood_weights_are_the_filter_row_of_the_chosen_node(tiny_graph):
    graph_filter = build_graph_filter(tiny_graph, GCN)
    degrees = np.asarray(tiny_graph["adjacency"].sum(axis=1)).ravel()
    test = np.zeros(6, dtype=bool)
    test[[1, 3, 4]] = True
    model = type("Model", (), {"name": "gcn"})()
    figure = {"node": None, "max_neighbours": int(degrees.max())}
    weights = neighbourhood_weights(
        model, tiny_graph["features"], graph_filter, {"test": test}, figure
    )
    chosen = int(weights["node"].iloc[0])
    assert test[chosen] and degrees[chosen] == degrees[test].max()
    row = graph_filter.toarray()[chosen]
    assert sorted(weights["neighbour"]) == np.flatnonzero(row).tolist()
    np.testing.assert_allclose(weights.set_index("neighbour")["weight"], row[weights["neighbour"]])
    with pytest.raises(ValueError, match=r"neighbourhood_figure\.node' \(6\) names no node"):
        neighbourhood_weights(
            model,
            tiny_graph["features"],
            graph_filter,
            {"test": test},
            {"node": 6, "max_neighbours": 3},
        )


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
    loaders = {"citeseer": lambda: planetoid}
    graph = build_graph(tiny_cora(), loaders, "citeseer", "planetoid", {"val_size": 2})
    assert graph["source"] == "planetoid" and graph["val_index"].tolist() == [2, 3]
    assert graph["subjects"][3] == ""  # an unlabelled node keeps no subject
    # Only Cora's papers are in the LINQS archive; other datasets' classes are numbered.
    assert sorted(set(graph["subjects"]) - {""}) == ["class_0", "class_1"]
    with pytest.raises(ValueError, match=r"planetoid_split\.val_size' \(3\)"):
        build_graph(tiny_cora(), loaders, "citeseer", "planetoid", {"val_size": 3})


def test_only_the_chosen_planetoid_dataset_is_read(tiny_graph):
    def must_not_load():
        raise AssertionError("read a dataset that was not asked for")

    loaders = {"cora": must_not_load, "citeseer": must_not_load}
    graph = build_graph(tiny_cora(), loaders, "cora", "reference", {"val_size": 1})
    assert graph["source"] == "reference"
    with pytest.raises(ValueError, match="Cora only"):
        build_graph(tiny_cora(), loaders, "citeseer", "reference", {"val_size": 1})


def test_tsne_of_hidden_activations_all_equal_starts_at_random_instead_of_crashing(
    tiny_graph, caplog
):
    from advanced_dl.models.grand import build_grand
    from advanced_dl.pipelines.cora_gcn.nodes import embed_hidden_layer

    features = build_node_features(tiny_graph, {"architecture": "gcn", "gcn": GCN["gcn"]})
    graph_filter = build_graph_filter(tiny_graph, GCN)
    n_nodes, n_features = features.shape
    model = build_grand(n_nodes, n_features, 2, order=1, hidden_units=4)
    # Every hidden unit at zero for every node: PCA's start would divide by zero.
    model.get_layer("grand_hidden").set_weights(
        [np.zeros_like(w) for w in model.get_layer("grand_hidden").get_weights()]
    )
    tsne = {"perplexity": 30.0, "max_iter": 250, "max_nodes": None}
    with caplog.at_level(logging.WARNING):
        embedding = embed_hidden_layer(model, features, graph_filter, tsne, seed=1)
    assert "t-SNE starts at random" in caplog.text
    assert len(embedding) == n_nodes
    assert np.isfinite(embedding[["tsne_1", "tsne_2"]].to_numpy()).all()
