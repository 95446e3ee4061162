"""The NAB detector's settings, typed: one schema each, shared by both NAB pipelines.

``conf/base/parameters_nab_benchmark.yml`` (``detector``, ``selection``) and
``conf/base/parameters_nab_anomaly.yml`` (the LSTM-VAE's ``model``, ``training``,
``threshold``) are checked against these before any data is read
(``advanced_dl.schema``); the detector then receives them as these objects.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import Field, model_validator

from advanced_dl.schema import (
    LearningRate,
    NonNegativeFloat,
    NonNegativeInt,
    OpenFraction,
    PositiveFloat,
    PositiveInt,
    Probability,
    ScheduleParameters,
    Schema,
)

LookBack = Annotated[int, Field(strict=True, ge=2)]


class ModelParameters(Schema):
    """The LSTM-VAE (``advanced_dl.models.lstm_vae``)."""

    intermediate_dim: PositiveInt
    latent_dim: PositiveInt
    scale_floor: PositiveFloat
    softplus_log_variance: bool
    sample_at_inference: bool


class TrainingParameters(ScheduleParameters):
    batch_size: PositiveInt
    epochs: PositiveInt
    validation_fraction: OpenFraction
    learning_rate: LearningRate


class ThresholdParameters(Schema):
    """Tukey's fence: ``quantile(q) + iqr_multiplier x IQR``."""

    quantile: Probability
    iqr_multiplier: NonNegativeFloat


class LstmVaeSettings(Schema):
    """The LSTM-VAE part: windows of ``look_back`` rows, each row scored by its last step."""

    look_back: LookBack
    model: ModelParameters
    training: TrainingParameters


class NextValueSettings(Schema):
    """The next-value part (``advanced_dl.models.next_value``, ``advanced_dl.nab.next_value``)."""

    look_back: LookBack
    hidden_units: PositiveInt
    hidden_layers: PositiveInt
    scale_floor: PositiveFloat
    epochs: PositiveInt
    batch_size: PositiveInt
    learning_rate: LearningRate


Combine = Literal["max", "mean"]


class ScoringSettings(Schema):
    """Raw scores -> anomaly likelihood z per part -> one score in [0, 1) (``nab.scoring``)."""

    average_rows: PositiveInt
    history_rows: PositiveInt
    min_history_rows: PositiveInt
    new_high_rows: NonNegativeInt
    combine: Combine  # the parts' z: the larger, or their sum over sqrt(parts)

    @model_validator(mode="after")
    def _history(self) -> ScoringSettings:
        if self.min_history_rows > self.history_rows:
            raise ValueError(
                f"min_history_rows ({self.min_history_rows}) must not exceed history_rows "
                f"({self.history_rows})"
            )
        return self


class OutOfRangeSettings(Schema):
    tolerance: NonNegativeFloat  # a fraction of the range of the earlier values
    cooldown_rows: NonNegativeInt


class LabelFreeThresholdSettings(ThresholdParameters):
    min_z: PositiveFloat


class DetectorSettings(Schema):
    """Everything the detector needs for one series; at least one learned part."""

    lstm_vae: LstmVaeSettings | None  # None: no LSTM-VAE part
    next_value: NextValueSettings | None  # None: no next-value part
    scoring: ScoringSettings
    out_of_range: OutOfRangeSettings | None  # None: the learned parts alone
    label_free_threshold: LabelFreeThresholdSettings

    @model_validator(mode="after")
    def _a_learned_part(self) -> DetectorSettings:
        if self.lstm_vae is None and self.next_value is None:
            raise ValueError("lstm_vae and next_value are both null: keep at least one part")
        return self

    @property
    def learned_parts(self) -> list[str]:
        """The learned parts present, in a fixed order."""
        return [name for name in ("lstm_vae", "next_value") if getattr(self, name) is not None]

    @property
    def context_rows(self) -> int:
        """Rows before a row that its raw scores read (the longest look-back)."""
        return max(part.look_back for part in (self.lstm_vae, self.next_value) if part)


class SelectionGrid(Schema):
    """The settings that can change without retraining, tried in every combination."""

    average_rows: Annotated[list[PositiveInt], Field(min_length=1)]
    history_rows: Annotated[list[PositiveInt], Field(min_length=1)]
    new_high_rows: Annotated[list[NonNegativeInt], Field(min_length=1)]
    combine: Annotated[list[Combine], Field(min_length=1)]
    out_of_range: Annotated[list[OutOfRangeSettings | None], Field(min_length=1)]

    def combinations(self, detector: DetectorSettings) -> list[DetectorSettings]:
        """``detector`` under every combination of the grid, in the grid's order.

        Raises ``ValueError`` (pydantic's) when a ``history_rows`` of the grid is
        below the detector's ``scoring.min_history_rows``.
        """
        grid = []
        for average_rows, history_rows, new_high_rows, combine, out_of_range in itertools.product(
            self.average_rows,
            self.history_rows,
            self.new_high_rows,
            self.combine,
            self.out_of_range,
        ):
            # Validated again, so a history shorter than min_history_rows is refused.
            scoring = ScoringSettings.model_validate(
                detector.scoring.model_dump()
                | {
                    "average_rows": average_rows,
                    "history_rows": history_rows,
                    "new_high_rows": new_high_rows,
                    "combine": combine,
                }
            )
            grid.append(
                detector.model_copy(update={"scoring": scoring, "out_of_range": out_of_range})
            )
        return grid
