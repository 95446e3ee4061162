"""Parameter schema of ``mdn_synthetic`` (``conf/base/parameters_mdn_synthetic.yml``)."""

from __future__ import annotations

import numpy as np
from pydantic import model_validator

from advanced_dl.schema import (
    DropoutRate,
    LearningRate,
    NonNegativeFloat,
    OpenFraction,
    Patience,
    PositiveFloat,
    PositiveInt,
    ScheduleParameters,
    Schema,
)


class DataParameters(Schema):
    n_samples: PositiveInt
    train_size: PositiveInt
    mixture_weights: list[NonNegativeFloat]
    means: list[list[float]]
    variances: list[list[PositiveFloat]]

    @model_validator(mode="after")
    def _consistent(self) -> DataParameters:
        weights = np.asarray(self.mixture_weights, dtype=float)
        if weights.size == 0 or not np.isclose(weights.sum(), 1.0, atol=1e-6):
            raise ValueError(f"data.mixture_weights must sum to 1 (sum is {weights.sum():.6g})")
        dims = {len(mean) for mean in self.means}
        if len(self.means) != weights.size or len(dims) != 1:
            raise ValueError(
                f"data.means must be {weights.size} points of one dimension (one per mixture "
                f"weight)"
            )
        if np.asarray(self.variances, dtype=object).shape != np.asarray(self.means).shape:
            raise ValueError("data.variances must have the same shape as data.means")
        if self.train_size >= self.n_samples:
            raise ValueError(
                f"data.train_size must be below data.n_samples ({self.n_samples}) so rows are "
                "left to test on"
            )
        return self


class ModelParameters(Schema):
    num_components: PositiveInt
    hidden_units: PositiveInt
    dropout_rate: DropoutRate
    min_scale: PositiveFloat
    init_from_targets: bool


class TrainingParameters(ScheduleParameters):
    batch_size: PositiveInt
    epochs: PositiveInt
    validation_fraction: OpenFraction
    learning_rate: LearningRate
    early_stopping_patience: Patience
    early_stopping_min_delta: NonNegativeFloat


class Parameters(Schema):
    data: DataParameters
    model: ModelParameters
    training: TrainingParameters
