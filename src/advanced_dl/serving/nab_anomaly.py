"""The served NAB detector: raw ``timestamp,value`` rows in, ``anomaly_score, is_anomaly`` out.

Scaling, windows, scores and flags are those of the pipeline
(``advanced_dl.features.series``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from advanced_dl.features.series import (
    causal_scores,
    flag_anomalies,
    scale_values,
    validate_series,
)
from advanced_dl.serving import KerasPyfuncModel


class NabAnomalyDetector(KerasPyfuncModel):
    """Flags anomalous rows of a raw series (``timestamp,value``, one row per time step).

    Output per input row: ``timestamp``, ``anomaly_score`` (NaN for the first
    ``look_back - 1`` rows, which have no full window) and ``is_anomaly``
    (``anomaly_score >= threshold``). The scaler, window length and threshold
    travel with the model.
    """

    def __init__(
        self,
        keras_model: Any,
        input_example: pd.DataFrame,
        *,
        scaler: dict[str, float],
        look_back: int,
        threshold: float,
    ) -> None:
        super().__init__(keras_model, input_example)
        self.scaler = {"mean": float(scaler["mean"]), "scale": float(scaler["scale"])}
        self.look_back = int(look_back)
        self.threshold = float(threshold)

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        series = validate_series(frame, "model input", min_rows=1)
        scaled = scale_values(series["value"].to_numpy(), self.scaler)
        scores = causal_scores(self.keras_model, scaled, self.look_back)
        return pd.DataFrame(
            {
                "timestamp": frame["timestamp"].to_numpy(),
                "anomaly_score": scores,
                "is_anomaly": flag_anomalies(scores, self.threshold),
            }
        )
