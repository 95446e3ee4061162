"""The served NAB detector: raw ``timestamp,value`` rows in, ``anomaly_score, is_anomaly`` out.

Also home of what the pipeline and the served model must share: the checks
on a raw series and the causal score (no Kedro here).

Score of row t: the negative log-likelihood of row t's scaled value at the
last step of the window made of rows ``t - look_back + 1 .. t`` (so it uses no
later row). The first ``look_back - 1`` rows have no full window: their score
is NaN and they are never flagged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.serving import KerasPyfuncModel, ServingInputError

INPUT_COLUMNS = ("timestamp", "value")


class InvalidSeriesError(ServingInputError):
    """A series that cannot be scored; the message names its source and what was expected."""


def validate_series(frame: pd.DataFrame, source: str, min_rows: int = 1) -> pd.DataFrame:
    """Check a raw NAB series and return it typed: ``timestamp`` datetime64, ``value`` float64.

    Args:
        frame: (n, >= 2) table with ``timestamp`` and ``value`` (strings or typed).
        source: the file (or input) name used in error messages.
        min_rows: fewest rows accepted (a window's length).

    Raises:
        InvalidSeriesError: missing columns, unparseable timestamps, non-numeric or
            missing values, duplicated or unsorted timestamps, or fewer than ``min_rows`` rows.
    """
    missing = [c for c in INPUT_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidSeriesError(
            f"{source}: missing column(s) {missing}; expected columns {list(INPUT_COLUMNS)}, "
            f"got {list(frame.columns)}"
        )
    raw_time, raw_value = frame["timestamp"], frame["value"]
    timestamps = pd.to_datetime(raw_time, errors="coerce")
    bad_time = timestamps.isna()
    if bad_time.any():
        rows = np.flatnonzero(bad_time.to_numpy())
        raise InvalidSeriesError(
            f"{source}: {len(rows)} timestamp(s) missing or unparseable, first at row {rows[0]} "
            f"({raw_time.iloc[rows[0]]!r}); expected date-times such as '2014-04-01 00:00:00'"
        )
    values = pd.to_numeric(raw_value, errors="coerce").astype("float64")
    bad_value = ~np.isfinite(values.to_numpy())
    if bad_value.any():
        rows = np.flatnonzero(bad_value)
        raise InvalidSeriesError(
            f"{source}: {len(rows)} value(s) missing or non-numeric, first at row {rows[0]} "
            f"({raw_value.iloc[rows[0]]!r}); expected finite numbers"
        )
    duplicated = timestamps.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InvalidSeriesError(
            f"{source}: duplicated timestamp {timestamps.iloc[row]} at row {row}; "
            "expected one row per timestamp"
        )
    if not timestamps.is_monotonic_increasing:
        row = int(np.flatnonzero(np.diff(timestamps.to_numpy()) < np.timedelta64(0))[0]) + 1
        raise InvalidSeriesError(
            f"{source}: timestamps not in increasing order at row {row} "
            f"({timestamps.iloc[row - 1]} then {timestamps.iloc[row]}); expected sorted rows"
        )
    if len(frame) < min_rows:
        raise InvalidSeriesError(
            f"{source}: {len(frame)} rows, shorter than one window; expected at least {min_rows}"
        )
    return pd.DataFrame({"timestamp": timestamps.to_numpy(), "value": values.to_numpy()})


def causal_scores(
    keras_model: Any, scaled_values: np.ndarray, look_back: int, batch_size: int = 1024
) -> np.ndarray:
    """Anomaly score per row from the window that ends at that row.

    Args:
        keras_model: windows ``(batch, look_back, 1)`` -> log-likelihood ``(batch, look_back)``.
        scaled_values: (n,) standardised values.
        look_back: window length.

    Returns:
        (n,) float64: ``-log-likelihood`` of row t at the window's last step for
        ``t >= look_back - 1``, NaN before.
    """
    values = np.asarray(scaled_values, dtype="float32")
    scores = np.full(len(values), np.nan)
    if len(values) < look_back:
        return scores
    windows = np.lib.stride_tricks.sliding_window_view(values, look_back)[..., None]
    log_likelihood = keras_model.predict(windows, batch_size=batch_size, verbose=0)
    scores[look_back - 1 :] = -np.asarray(log_likelihood, dtype="float64")[:, -1]
    return scores


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
        scaler_mean: float,
        scaler_scale: float,
        look_back: int,
        threshold: float,
    ) -> None:
        super().__init__(keras_model, input_example)
        self.scaler_mean = float(scaler_mean)
        self.scaler_scale = float(scaler_scale)
        self.look_back = int(look_back)
        self.threshold = float(threshold)

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        series = validate_series(frame, "model input", min_rows=1)
        scaled = (series["value"].to_numpy() - self.scaler_mean) / self.scaler_scale
        scores = causal_scores(self.keras_model, scaled, self.look_back)
        with np.errstate(invalid="ignore"):
            flagged = np.nan_to_num(scores, nan=-np.inf) >= self.threshold
        return pd.DataFrame(
            {
                "timestamp": frame["timestamp"].to_numpy(),
                "anomaly_score": scores,
                "is_anomaly": flagged,
            }
        )
