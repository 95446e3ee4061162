"""Parameter schema of ``nab_anomaly`` (``conf/base/parameters_nab_anomaly.yml``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from advanced_dl.nab.settings import ModelParameters, ThresholdParameters, TrainingParameters
from advanced_dl.schema import NonNegativeInt, Schema

# "<category>/<file>.csv" as in NAB's labels/combined_labels.json.
SeriesName = Annotated[str, Field(pattern=r"^[^/]+/[^/]+\.csv$")]


class OwnSeriesParameters(Schema):
    path: str | None  # a local timestamp,value CSV; None: NAB's experiment
    train_rows: Annotated[int, Field(strict=True, ge=3)]


class Parameters(Schema):
    train_series: SeriesName
    train_first_row: NonNegativeInt
    train_last_row: NonNegativeInt
    test_series: SeriesName
    look_back: Annotated[int, Field(strict=True, ge=2)]
    accept_unordered_timestamps: bool
    model: ModelParameters
    training: TrainingParameters
    threshold: ThresholdParameters
    own_series: OwnSeriesParameters

    @model_validator(mode="after")
    def _training_slice(self) -> Parameters:
        if self.own_series.path is not None:
            rows = self.own_series.train_rows
            if rows < self.look_back + 1:
                raise ValueError(
                    f"own_series.train_rows must be at least look_back + 1 = "
                    f"{self.look_back + 1} (a window to train on and one to validate); got {rows}"
                )
            return self
        rows = self.train_last_row - self.train_first_row + 1
        if rows < self.look_back + 1:
            raise ValueError(
                f"train_first_row..train_last_row must hold at least look_back + 1 = "
                f"{self.look_back + 1} rows (a window to train on and one to validate); "
                f"it holds {max(rows, 0)}"
            )
        return self
