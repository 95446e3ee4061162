"""Parameter schema of ``nab_benchmark`` (``conf/base/parameters_nab_benchmark.yml``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from advanced_dl.pipelines.nab_anomaly.parameters import (
    ModelParameters,
    SeriesName,
    ThresholdParameters,
    TrainingParameters,
)
from advanced_dl.schema import (
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Schema,
)


def series_selection(value: object) -> object:
    """``series`` as given -> "all" or a list: ``--params`` takes no lists, so a
    space-separated string of names selects the same as a list of them."""
    if isinstance(value, str) and value != "all":
        return value.split()
    return value


class ScoringParameters(Schema):
    average_rows: PositiveInt
    history_rows: PositiveInt
    min_history_rows: PositiveInt
    new_high_rows: NonNegativeInt

    @model_validator(mode="after")
    def _history(self) -> ScoringParameters:
        if self.min_history_rows > self.history_rows:
            raise ValueError(
                f"min_history_rows ({self.min_history_rows}) must not exceed history_rows "
                f"({self.history_rows})"
            )
        return self


class OutOfRangeParameters(Schema):
    tolerance: NonNegativeFloat  # a fraction of the range of the earlier values
    cooldown_rows: NonNegativeInt


class LabelFreeThresholdParameters(ThresholdParameters):
    min_z: PositiveFloat


class DetectorParameters(Schema):
    look_back: int = Field(strict=True, ge=2)
    model: ModelParameters
    training: TrainingParameters
    scoring: ScoringParameters
    out_of_range: OutOfRangeParameters | None  # None: the LSTM-VAE's score alone
    label_free_threshold: LabelFreeThresholdParameters


class DaskParameters(Schema):
    workers: PositiveInt | None  # None: one per core
    scheduler_address: str | None  # None: $DASK_SCHEDULER_ADDRESS, else a local cluster


class PublishedScore(Schema):
    detector: str
    standard: float
    reward_low_fp: float | None
    reward_low_fn: float | None
    source: str


class Parameters(Schema):
    detector_name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    series: Literal["all"] | Annotated[list[SeriesName], Field(min_length=1)]
    detector: DetectorParameters
    dask: DaskParameters
    published_scores: list[PublishedScore]

    @field_validator("series", mode="before")
    @classmethod
    def _names_from_command_line(cls, value: object) -> object:
        return series_selection(value)
