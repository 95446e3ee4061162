"""The served NAB detectors: raw ``timestamp,value`` rows in, ``anomaly_score, is_anomaly`` out.

:class:`NabAnomalyDetector` is the textbook experiment's LSTM-VAE (scaling,
windows, scores and flags of ``advanced_dl.features.series``);
:class:`NabCorpusDetector` is the corpus detector fitted on a user's own series
(``advanced_dl.nab.detector``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.features import InvalidInputError
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


class NabCorpusDetector(KerasPyfuncModel):
    """The corpus detector (``nab_benchmark``'s) fitted on the first rows of a user's series.

    A request holds raw ``timestamp,value`` rows that continue the series after
    the rows the detector was fitted on (those travel with the model): each is
    scored exactly as in the ``nab_anomaly`` run on that series
    (:func:`advanced_dl.nab.detector.continuation_scores`), so a request of the
    run's scored rows gets the run's scores. Output per input row:
    ``timestamp``, ``anomaly_score`` in [0, 1] and ``is_anomaly``
    (``anomaly_score >= threshold``); the threshold is the series' label-free one
    (or the run's ``own_series.threshold``), and a request may pass its own
    (``params={"threshold": 0.9}``).
    """

    ENTRYPOINT = "nab_corpus_detector"

    def __init__(
        self,
        fitted: Any = None,
        input_example: pd.DataFrame | None = None,
        *,
        fitted_series: pd.DataFrame | None = None,
        threshold: float = 0.5,
        accept_unordered_timestamps: bool = False,
    ) -> None:
        super().__init__(None, input_example)
        self.fitted = fitted
        self.fitted_series = fitted_series
        self.threshold = float(threshold)
        self.accept_unordered_timestamps = accept_unordered_timestamps

    def keras_models(self) -> dict[str, Any]:
        return {
            f"keras_model_{part}": getattr(self.fitted, part)
            for part in self.fitted.settings.learned_parts
        }

    def set_keras_models(self, models: dict[str, Any]) -> None:
        self._models = {name.removeprefix("keras_model_"): model for name, model in models.items()}

    def params_example(self) -> dict[str, Any]:
        return {"threshold": self.threshold}

    def state(self) -> dict[str, Any]:
        fitted = self.fitted
        return {
            "settings": fitted.settings.model_dump(),
            "lstm_vae_scaler": fitted.lstm_vae_scaler,
            "next_value_scaler": (
                fitted.next_value_scaler.to_dict() if fitted.next_value_scaler else None
            ),
            # Nanoseconds since the epoch: the next-value inputs read the time of day exactly.
            "fitted_timestamps": self.fitted_series["timestamp"]
            .to_numpy("datetime64[ns]")
            .astype("int64")
            .tolist(),
            "fitted_values": self.fitted_series["value"].to_numpy("float64").tolist(),
            "threshold": self.threshold,
            "accept_unordered_timestamps": self.accept_unordered_timestamps,
        }

    def set_state(self, state: dict[str, Any], sparse: dict[str, Any]) -> None:
        from advanced_dl.nab.detector import FittedDetector
        from advanced_dl.nab.next_value import NextValueScaler
        from advanced_dl.nab.settings import DetectorSettings

        models = getattr(self, "_models", {})
        next_value_scaler = state["next_value_scaler"]
        self.fitted = FittedDetector(
            settings=DetectorSettings.model_validate(state["settings"]),
            lstm_vae=models.get("lstm_vae"),
            lstm_vae_scaler=state["lstm_vae_scaler"],
            next_value=models.get("next_value"),
            next_value_scaler=NextValueScaler(**next_value_scaler) if next_value_scaler else None,
        )
        self.fitted_series = pd.DataFrame(
            {
                "timestamp": np.asarray(state["fitted_timestamps"], dtype="int64").astype(
                    "datetime64[ns]"
                ),
                "value": np.asarray(state["fitted_values"], dtype="float64"),
            }
        )
        self.threshold = float(state["threshold"])
        self.accept_unordered_timestamps = bool(state["accept_unordered_timestamps"])

    def predict_frame(self, frame: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
        from advanced_dl.nab.detector import continuation_scores

        threshold = self.threshold if threshold is None else threshold
        if not 0.0 <= threshold <= 1.0:
            raise InvalidInputError(
                f"params.threshold: expected a number in [0, 1], got {threshold}"
            )
        series = validate_series(
            frame, "model input", accept_unordered=self.accept_unordered_timestamps
        )
        last_fitted = self.fitted_series["timestamp"].iloc[-1]
        first = series["timestamp"].iloc[0]
        if not self.accept_unordered_timestamps and first <= last_fitted:
            raise InvalidInputError(
                f"model input: the rows must continue the series after the rows the detector "
                f"was fitted on, which end at {last_fitted}; the first row is at {first}"
            )
        scores, _ = continuation_scores(
            self.fitted,
            self.fitted_series["value"].to_numpy(),
            self.fitted_series["timestamp"].to_numpy(),
            series["value"].to_numpy(),
            series["timestamp"].to_numpy(),
        )
        return pd.DataFrame(
            {
                "timestamp": frame["timestamp"].to_numpy(),
                "anomaly_score": scores,
                "is_anomaly": flag_anomalies(scores, threshold),
            }
        )
