"""Parameter schema of ``nab_benchmark`` (``conf/base/parameters_nab_benchmark.yml``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from advanced_dl.nab.settings import DetectorSettings, SelectionGrid
from advanced_dl.pipelines.nab_anomaly.parameters import SeriesName
from advanced_dl.schema import PositiveInt, Schema


def series_selection(value: object) -> object:
    """``series`` as given -> "all" or a list: ``--params`` takes no lists, so a
    space-separated string of names selects the same as a list of them."""
    if isinstance(value, str) and value != "all":
        return value.split()
    return value


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
    detector: DetectorSettings
    selection: SelectionGrid
    dask: DaskParameters
    published_scores: list[PublishedScore]

    @field_validator("series", mode="before")
    @classmethod
    def _names_from_command_line(cls, value: object) -> object:
        return series_selection(value)

    @model_validator(mode="after")
    def _selection_fits_the_detector(self) -> Parameters:
        # Before any training: every setting of the grid must be a valid detector.
        try:
            self.selection.combinations(self.detector)
        except ValueError as error:
            raise ValueError(
                f"selection: a combination is invalid for the detector: {error}"
            ) from None
        return self
