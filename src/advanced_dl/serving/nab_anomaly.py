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

    ENTRYPOINT = "nab_anomaly"

    def __init__(
        self,
        keras_model: Any = None,
        input_example: pd.DataFrame | None = None,
        *,
        scaler: dict[str, float] | None = None,
        look_back: int = 0,
        threshold: float = 0.0,
        accept_unordered_timestamps: bool = False,
    ) -> None:
        super().__init__(keras_model, input_example)
        self.set_state(
            {
                "scaler": scaler,
                "look_back": look_back,
                "threshold": threshold,
                "accept_unordered_timestamps": accept_unordered_timestamps,
            },
            {},
        )

    def state(self) -> dict[str, Any]:
        return {
            "scaler": self.scaler,
            "look_back": self.look_back,
            "threshold": self.threshold,
            "accept_unordered_timestamps": self.accept_unordered_timestamps,
        }

    def set_state(self, state: dict[str, Any], sparse: dict[str, Any]) -> None:
        scaler = state["scaler"] or {"mean": 0.0, "scale": 1.0}
        self.scaler = {"mean": float(scaler["mean"]), "scale": float(scaler["scale"])}
        self.look_back = int(state["look_back"])
        self.threshold = float(state["threshold"])
        self.accept_unordered_timestamps = bool(state.get("accept_unordered_timestamps", False))

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        series = validate_series(
            frame, "model input", accept_unordered=self.accept_unordered_timestamps
        )
        scaled = scale_values(series["value"].to_numpy(), self.scaler)
        scores = causal_scores(self.keras_model, scaled, self.look_back)
        return pd.DataFrame(
            {
                "timestamp": frame["timestamp"].to_numpy(),
                "anomaly_score": scores,
                "is_anomaly": flag_anomalies(scores, self.threshold),
            }
        )
