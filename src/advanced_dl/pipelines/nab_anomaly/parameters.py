"""Parameter schema of ``nab_anomaly`` (``conf/base/parameters_nab_anomaly.yml``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from advanced_dl.nab.settings import ModelParameters, ThresholdParameters, TrainingParameters
from advanced_dl.schema import NonNegativeInt, Schema

#: The corpus detector's settings are nab_benchmark's (``nab_benchmark.detector``):
#: what a user's series is served with is what scored on NAB's corpus.
ALSO_READS = ("nab_benchmark",)

# "<category>/<file>.csv" as in NAB's labels/combined_labels.json.
SeriesName = Annotated[str, Field(pattern=r"^[^/]+/[^/]+\.csv$")]


class OwnSeriesParameters(Schema):
    path: str | None  # a local timestamp,value CSV; None: NAB's experiment
    train_rows: Annotated[int, Field(strict=True, ge=3)]
    # The served corpus detector's threshold on scores in [0, 1]; None: the
    # series' label-free threshold.
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None


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
