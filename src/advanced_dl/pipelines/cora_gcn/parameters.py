"""Parameter schema of ``cora_gcn`` (``conf/base/parameters_cora_gcn.yml``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from advanced_dl.schema import (
    DropoutRate,
    LearningRate,
    NonNegativeFloat,
    NonNegativeInt,
    Patience,
    PositiveFloat,
    PositiveInt,
    Schema,
)


class ReferenceSplitParameters(Schema):
    train_per_class: PositiveInt
    val_size: PositiveInt
    test_size: PositiveInt


class PlanetoidSplitParameters(Schema):
    val_size: PositiveInt


class ModelParameters(Schema):
    hidden_units: PositiveInt
    dropout_rate: DropoutRate
    l2_factor: NonNegativeFloat


class TrainingParameters(Schema):
    learning_rate: LearningRate
    epochs: PositiveInt
    early_stopping_patience: Patience
    early_stopping_min_delta: NonNegativeFloat
    restore_best_weights: bool
    # null: Adam's rate stays constant (the reference); a number: "hold then decay".
    hold_epochs: NonNegativeInt | None
    decay_rate: NonNegativeFloat
    verbose: bool
    distribution: str

    @field_validator("distribution")
    @classmethod
    def _one_device(cls, value: str) -> str:
        if value != "none":
            raise ValueError(
                "cora_gcn trains full-batch on one device, so only 'none' is accepted "
                "(the graph is one batch: there is nothing to split between replicas)"
            )
        return value


class TsneParameters(Schema):
    perplexity: PositiveFloat
    max_iter: Annotated[int, Field(strict=True, ge=250)]  # scikit-learn's minimum
    max_nodes: Annotated[int, Field(strict=True, ge=10)] | None


class Parameters(Schema):
    split: Literal["reference", "planetoid"]
    reference_split: ReferenceSplitParameters
    planetoid_split: PlanetoidSplitParameters
    model: ModelParameters
    training: TrainingParameters
    tsne: TsneParameters
