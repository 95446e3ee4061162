"""Wiring of the ``imdb_pretrain`` pipeline."""

from kedro.pipeline import Node, Pipeline

from advanced_dl.pipelines.imdb_transformer.nodes import learn_review_vocabulary
from advanced_dl.plotting import plot_training_history

from .nodes import (
    build_served_encoder,
    pretrain_encoder,
    select_pretraining_reviews,
    vectorise_pretraining_reviews,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                select_pretraining_reviews,
                ["reviews", "params:data", "params:seed"],
                ["pretraining_reviews", "held_out_reviews"],
                name="select_pretraining_reviews",
            ),
            Node(
                learn_review_vocabulary,
                ["pretraining_reviews", "params:vectorisation"],
                "vocabulary",
                name="learn_review_vocabulary",
            ),
            Node(
                vectorise_pretraining_reviews,
                [
                    "pretraining_reviews",
                    "held_out_reviews",
                    "vocabulary",
                    "params:vectorisation",
                ],
                ["pretraining_tokens", "held_out_tokens"],
                name="vectorise_pretraining_reviews",
            ),
            Node(
                pretrain_encoder,
                [
                    "pretraining_tokens",
                    "held_out_tokens",
                    "vocabulary",
                    "checkpoints",
                    "params:model",
                    "params:objective",
                    "params:training",
                    "params:seed",
                ],
                ["encoder", "training_history"],
                name="pretrain_encoder",
            ),
            Node(
                plot_training_history,
                "training_history",
                "training_history_figure",
                name="plot_training_history",
            ),
            Node(
                build_served_encoder,
                [
                    "encoder",
                    "vocabulary",
                    "held_out_reviews",
                    "params:vectorisation",
                    "params:model",
                    "training_history",
                ],
                "served_model",
                name="build_served_encoder",
            ),
        ],
        namespace="imdb_pretrain",
        parameters={"params:seed"},
    )
