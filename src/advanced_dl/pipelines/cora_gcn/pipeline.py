"""Wiring of the ``cora_gcn`` pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_graph,
    build_graph_filter,
    build_masks,
    build_served_model,
    embed_hidden_layer,
    encode_labels,
    evaluate_gcn,
    plot_hidden_embedding,
    plot_training_history,
    read_cora,
    read_planetoid,
    train_gcn,
)

PLANETOID_INPUTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test_index")


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=read_planetoid,
                inputs={
                    "split": "params:split",
                    "val_size": "params:planetoid_split.val_size",
                    **{name: f"planetoid_{name}" for name in PLANETOID_INPUTS},
                },
                outputs="planetoid",
                name="read_planetoid",
            ),
            Node(
                func=read_cora,
                inputs={"cora_archive": "cora_archive", "cora_files": "params:cora_files"},
                outputs=["cora_content", "cora_citations"],
                name="read_cora",
            ),
            Node(
                func=build_graph,
                inputs={
                    "cora_content": "cora_content",
                    "cora_citations": "cora_citations",
                    "planetoid": "planetoid",
                },
                outputs="citation_graph",
                name="build_graph",
            ),
            Node(
                func=build_graph_filter,
                inputs={"citation_graph": "citation_graph"},
                outputs="graph_filter",
                name="build_graph_filter",
            ),
            Node(
                func=encode_labels,
                inputs={"citation_graph": "citation_graph"},
                outputs=["labels", "class_names"],
                name="encode_labels",
            ),
            Node(
                func=build_masks,
                inputs={
                    "citation_graph": "citation_graph",
                    "labels": "labels",
                    "reference_split": "params:reference_split",
                },
                outputs="masks",
                name="build_masks",
            ),
            Node(
                func=train_gcn,
                inputs={
                    "citation_graph": "citation_graph",
                    "graph_filter": "graph_filter",
                    "labels": "labels",
                    "masks": "masks",
                    "model_params": "params:model",
                    "training": "params:training",
                    "seed": "params:seed",
                },
                outputs=["trained_model", "training_history"],
                name="train_gcn",
            ),
            Node(
                func=evaluate_gcn,
                inputs={
                    "trained_model": "trained_model",
                    "citation_graph": "citation_graph",
                    "graph_filter": "graph_filter",
                    "labels": "labels",
                    "masks": "masks",
                    "class_names": "class_names",
                },
                outputs=["test_metrics", "test_class_report"],
                name="evaluate_gcn",
            ),
            Node(
                func=embed_hidden_layer,
                inputs={
                    "trained_model": "trained_model",
                    "citation_graph": "citation_graph",
                    "graph_filter": "graph_filter",
                    "tsne": "params:tsne",
                    "seed": "params:seed",
                },
                outputs="hidden_embedding",
                name="embed_hidden_layer",
            ),
            Node(
                func=plot_training_history,
                inputs={"training_history": "training_history"},
                outputs="training_curves_figure",
                name="plot_training_history",
            ),
            Node(
                func=plot_hidden_embedding,
                inputs={
                    "hidden_embedding": "hidden_embedding",
                    "labels": "labels",
                    "class_names": "class_names",
                },
                outputs="hidden_tsne_figure",
                name="plot_hidden_embedding",
            ),
            Node(
                func=build_served_model,
                inputs={
                    "trained_model": "trained_model",
                    "citation_graph": "citation_graph",
                    "graph_filter": "graph_filter",
                    "class_names": "class_names",
                },
                outputs="served_model",
                name="build_served_model",
            ),
        ],
        namespace="cora_gcn",
        parameters={"params:seed"},
    )
