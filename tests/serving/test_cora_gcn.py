"""The served GCN gives exactly the pipeline's class probabilities for the same nodes."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from advanced_dl.features import InvalidInputError
from advanced_dl.models.gat import build_gat
from advanced_dl.models.gcn import build_gcn
from advanced_dl.pipelines.cora_gcn import nodes
from tests.serving.graphs import path_graph


@pytest.mark.parametrize("architecture", ["gcn", "gat"])
def test_served_model_matches_the_pipeline(architecture):
    n_nodes = 6
    graph = path_graph(n_nodes)
    model_params = {
        "architecture": architecture,
        "gcn": {"row_normalise_features": False},
        "gat": {"row_normalise_features": True},
    }
    features = nodes.build_node_features(graph, model_params)
    graph_filter = nodes.build_graph_filter(graph, model_params)
    labels, class_names = nodes.encode_labels(graph)
    masks = {name: np.ones(n_nodes, dtype=bool) for name in ("train", "val", "test")}
    keras.utils.set_random_seed(0)
    if architecture == "gat":
        model = build_gat(n_nodes, 5, 2, hidden_units=2, attention_heads=2)
    else:
        model = build_gcn(n_nodes, 5, 2, hidden_units=4)
    _, report = nodes.evaluate_model(model, features, graph_filter, labels, masks, class_names, 0)
    served = nodes.build_served_model(model, features, graph_filter, graph, class_names, 0)

    output = served.predict(None, pd.DataFrame({"node": [4, 0, 4]}))
    expected = np.asarray(model(nodes.model_inputs(features, graph_filter), training=False))[
        [4, 0, 4]
    ]
    np.testing.assert_array_equal(output[["probability_a", "probability_b"]], expected)
    assert output["paper_id"].tolist() == ["p4", "p0", "p4"]
    assert output["predicted_class"].tolist() == [class_names[k] for k in expected.argmax(1)]
    assert int(report.loc[report["class"] == "macro avg", "support"].iloc[0]) == n_nodes

    for bad in ([6], [-1], [1.5], ["x"], [True], ["3"]):
        with pytest.raises(InvalidInputError, match=r"node indices 0\.\.5"):
            served.predict(None, pd.DataFrame({"node": bad}))


def test_inference_samples_reach_evaluation_and_the_served_model():
    from advanced_dl.models.grand import build_grand

    n_nodes = 8
    graph = path_graph(n_nodes, seed=1)
    model_params = {"architecture": "grand", "grand": {"row_normalise_features": True}}
    features = nodes.build_node_features(graph, model_params)
    graph_filter = nodes.build_graph_filter(graph, model_params)
    labels, class_names = nodes.encode_labels(graph)
    masks = {name: np.ones(n_nodes, dtype=bool) for name in ("train", "val", "test")}
    keras.utils.set_random_seed(0)
    model = build_grand(n_nodes, 5, 2, order=2, hidden_units=4)
    inference = np.asarray(model(nodes.model_inputs(features, graph_filter), training=False))
    plain, _ = nodes.evaluate_model(model, features, graph_filter, labels, masks, class_names, 0)
    averaged, _ = nodes.evaluate_model(
        model, features, graph_filter, labels, masks, class_names, 30
    )
    assert "expectation_val_accuracy" not in plain
    # The single inference-mode pass's validation accuracy, beside the averaged one.
    assert averaged["expectation_val_accuracy"] == plain["selected_val_accuracy"]
    assert averaged["test_loss"] != plain["test_loss"]

    served = nodes.build_served_model(model, features, graph_filter, graph, class_names, 30)
    reloaded = nodes.build_served_model(model, features, graph_filter, graph, class_names, 0)
    reloaded.set_state(served.state(), served.sparse_state())
    assert reloaded.inference_samples == 30
    output = reloaded.predict(None, pd.DataFrame({"node": list(range(n_nodes))}))
    probabilities = output[["probability_a", "probability_b"]].to_numpy()
    assert not np.allclose(probabilities, inference)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
