"""Parameter schema of ``imdb_pretrain`` (``conf/base/parameters_imdb_pretrain.yml``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from advanced_dl.pipelines.imdb_transformer.parameters import VectorisationParameters
from advanced_dl.schema import (
    DropoutRate,
    LearningRate,
    NonNegativeInt,
    OpenFraction,
    PositiveFloat,
    PositiveInt,
    Schema,
)


class DataParameters(Schema):
    # Unlabelled reviews kept out of pre-training; its loss on them is the curve to watch.
    held_out_reviews: PositiveInt
    # null: every review; a number: that many pre-training reviews at random (smoke tests).
    max_reviews: Annotated[int, Field(strict=True, ge=2)] | None


class ModelParameters(Schema):
    embedding_dim: PositiveInt
    num_layers: PositiveInt
    num_heads: PositiveInt
    key_dim: PositiveInt
    feed_forward_dim: PositiveInt
    dropout_rate: DropoutRate
    layer_norm_epsilon: PositiveFloat


class ObjectiveParameters(Schema):
    mask_fraction: OpenFraction  # of each review's tokens predicted (BERT: 0.15)


class TrainingParameters(Schema):
    batch_size: PositiveInt
    passes: PositiveInt  # over the pre-training reviews
    checkpoints_per_pass: PositiveInt  # a checkpoint (and a log line) this often
    learning_rate: LearningRate  # peak, after the warm-up; then a cosine decay to 0
    warmup_steps: NonNegativeInt


class Parameters(Schema):
    data: DataParameters
    vectorisation: VectorisationParameters
    model: ModelParameters
    objective: ObjectiveParameters
    training: TrainingParameters
