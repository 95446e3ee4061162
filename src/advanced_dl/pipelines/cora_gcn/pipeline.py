"""Wiring of the ``cora_gcn`` pipeline."""

from kedro.pipeline import Node, Pipeline

from advanced_dl.plotting import plot_training_history

from .figures import plot_hidden_embedding, plot_neighbourhood_weights
from .nodes import (
    build_graph,
    build_graph_filter,
    build_masks,
    build_node_features,
    build_served_model,
    embed_hidden_layer,
    encode_labels,
    evaluate_model,
    neighbourhood_weights,
    train_model,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_graph,
                ["cora", "planetoid", "params:dataset", "params:split", "params:planetoid_split"],
                "citation_graph",
                name="build_graph",
            ),
            Node(
                build_node_features,
                ["citation_graph", "params:model"],
                "node_features",
                name="build_node_features",
            ),
            Node(
                build_graph_filter,
                ["citation_graph", "params:model"],
                "graph_filter",
                name="build_graph_filter",
            ),
            Node(encode_labels, "citation_graph", ["labels", "class_names"], name="encode_labels"),
            Node(
                build_masks,
                ["citation_graph", "labels", "params:reference_split"],
                "masks",
                name="build_masks",
            ),
            Node(
                train_model,
                [
                    "node_features",
                    "graph_filter",
                    "labels",
                    "masks",
                    "params:model",
                    "params:training",
                ],
                ["trained_model", "training_history"],
                name="train_model",
            ),
            Node(
                evaluate_model,
                [
                    "trained_model",
                    "node_features",
                    "graph_filter",
                    "labels",
                    "masks",
                    "class_names",
                    "params:inference_samples",
                ],
                ["test_metrics", "test_class_report"],
                name="evaluate_model",
            ),
            Node(
                embed_hidden_layer,
                ["trained_model", "node_features", "graph_filter", "params:tsne", "params:seed"],
                "hidden_embedding",
                name="embed_hidden_layer",
            ),
            Node(
                neighbourhood_weights,
                [
                    "trained_model",
                    "node_features",
                    "graph_filter",
                    "masks",
                    "params:neighbourhood_figure",
                ],
                "neighbourhood_weights",
                name="neighbourhood_weights",
            ),
            Node(
                plot_training_history,
                "training_history",
                "training_history_figure",
                name="plot_training_history",
            ),
            Node(
                plot_hidden_embedding,
                ["hidden_embedding", "labels", "class_names"],
                "hidden_tsne_figure",
                name="plot_hidden_embedding",
            ),
            Node(
                plot_neighbourhood_weights,
                ["neighbourhood_weights", "labels", "class_names"],
                "neighbourhood_weights_figure",
                name="plot_neighbourhood_weights",
            ),
            Node(
                build_served_model,
                [
                    "trained_model",
                    "node_features",
                    "graph_filter",
                    "citation_graph",
                    "class_names",
                    "params:inference_samples",
                ],
                "served_model",
                name="build_served_model",
            ),
        ],
        namespace="cora_gcn",
        parameters={"params:seed"},
    )
