"""Wiring of the ``cora_gcn`` pipeline."""

from kedro.pipeline import Node, Pipeline

from advanced_dl.plotting import plot_training_history

from .figures import plot_hidden_embedding
from .nodes import (
    build_graph,
    build_graph_filter,
    build_masks,
    build_served_model,
    embed_hidden_layer,
    encode_labels,
    evaluate_gcn,
    train_gcn,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_graph,
                ["cora", "planetoid", "params:split", "params:planetoid_split"],
                "citation_graph",
                name="build_graph",
            ),
            Node(build_graph_filter, "citation_graph", "graph_filter", name="build_graph_filter"),
            Node(encode_labels, "citation_graph", ["labels", "class_names"], name="encode_labels"),
            Node(
                build_masks,
                ["citation_graph", "labels", "params:reference_split"],
                "masks",
                name="build_masks",
            ),
            Node(
                train_gcn,
                [
                    "citation_graph",
                    "graph_filter",
                    "labels",
                    "masks",
                    "params:model",
                    "params:training",
                ],
                ["trained_model", "training_history"],
                name="train_gcn",
            ),
            Node(
                evaluate_gcn,
                [
                    "trained_model",
                    "citation_graph",
                    "graph_filter",
                    "labels",
                    "masks",
                    "class_names",
                ],
                ["test_metrics", "test_class_report"],
                name="evaluate_gcn",
            ),
            Node(
                embed_hidden_layer,
                ["trained_model", "citation_graph", "graph_filter", "params:tsne", "params:seed"],
                "hidden_embedding",
                name="embed_hidden_layer",
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
                build_served_model,
                ["trained_model", "citation_graph", "graph_filter", "class_names"],
                "served_model",
                name="build_served_model",
            ),
        ],
        namespace="cora_gcn",
        parameters={"params:seed"},
    )
