"""Parameter schema of ``imdb_transformer`` (``conf/base/parameters_imdb_transformer.yml``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from advanced_dl.features.text import check_head_tokens
from advanced_dl.schema import (
    DropoutRate,
    LearningRate,
    NonNegativeFloat,
    NonNegativeInt,
    OpenFraction,
    Patience,
    PositiveFloat,
    PositiveInt,
    Probability,
    ScheduleParameters,
    Schema,
)


class DataParameters(Schema):
    validation_fraction: OpenFraction
    # "random": a stratified random share of the training reviews (the reference's split);
    # "by_movie": every review of a random share of the training movies, as IMDB's test
    # split holds movies the training reviews never mention.
    validation_split: Literal["random", "by_movie"]
    # null: every review; a number: a stratified sample of each split (smoke tests).
    max_reviews_per_split: Annotated[int, Field(strict=True, ge=4)] | None


class VectorisationParameters(Schema):
    vocabulary_size: Annotated[int, Field(strict=True, ge=3)]  # padding, OOV and a word at least
    sequence_length: PositiveInt
    keep: Literal["last", "first", "head_and_tail"]
    head_tokens: NonNegativeInt  # opening words kept by "head_and_tail"

    @model_validator(mode="after")
    def _head_leaves_room_for_a_tail(self) -> VectorisationParameters:
        check_head_tokens(self.keep, self.head_tokens, self.sequence_length)
        return self


class ClassifierVectorisationParameters(VectorisationParameters):
    # 1: one window per review; more: a review of up to windows * sequence_length words
    # is read whole, as overlapping windows whose mean log-odds is its prediction.
    windows: PositiveInt


class EncoderParameters(Schema):
    # "none": the reference classifier; "pretrained": fine-tune the encoder the catalog's
    # imdb_transformer.pretrained_encoder names (conf/pretrained); "scratch": the same
    # classifier, vocabulary and encoder shape, weights drawn at random (the ablation).
    use: Literal["none", "pretrained", "scratch"]
    # Which registered imdb_encoder: "latest", a version number or an alias; read by the
    # catalog (conf/pretrained) through runtime_params, so pass it with --params.
    version: str | PositiveInt


class ModelParameters(Schema):
    embedding_dim: PositiveInt
    bigram_buckets: NonNegativeInt  # 0: no word-pair embedding (the reference)
    bigram_dim: PositiveInt | None  # width of the pair table; null: embedding_dim
    bigram_scale: PositiveFloat  # the pair term's multiplier: its table learns this much faster
    num_heads: PositiveInt
    key_dim: PositiveInt
    feed_forward_dim: PositiveInt
    dropout_rate: DropoutRate
    dense_units: PositiveInt
    num_classes: Literal[2]  # negative, positive
    layer_norm_epsilon: PositiveFloat


class TrainingParameters(ScheduleParameters):
    # "hold_then_decay" per epoch (hold_epochs, decay_rate); "cosine": per step to 0 at the end.
    schedule: Literal["hold_then_decay", "cosine"]
    # "lazy_adam": Adam that updates only the embedding rows a batch looked up.
    optimizer: Literal["adam", "lazy_adam"]
    batch_size: PositiveInt
    epochs: PositiveInt
    learning_rate: LearningRate
    early_stopping_patience: Patience
    early_stopping_min_delta: NonNegativeFloat
    restore_best_weights: bool


class EvaluationParameters(Schema):
    batch_size: PositiveInt
    threshold: Probability


class BaselineParameters(Schema):
    enabled: bool
    ngram_max: PositiveInt  # word 1..ngram_max-grams
    min_df: PositiveInt  # in at least this many training reviews
    sublinear_tf: bool
    C: PositiveFloat  # logistic regression's inverse regularisation strength
    max_iter: PositiveInt


class FigureParameters(Schema):
    attention_review_index: NonNegativeInt
    attention_tokens: PositiveInt


class Parameters(Schema):
    data: DataParameters
    vectorisation: ClassifierVectorisationParameters
    encoder: EncoderParameters
    model: ModelParameters
    training: TrainingParameters
    evaluation: EvaluationParameters
    baseline: BaselineParameters
    figures: FigureParameters
