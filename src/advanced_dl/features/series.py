"""Time series for the LSTM-VAE detector: checks, scaling, windows, causal scores, flags.

A row's anomaly score is the negative log-likelihood of its scaled value at
the last step of the window made of rows ``t - look_back + 1 .. t``, so it
uses no later row. The first ``look_back - 1`` rows have no full window:
their score is NaN and they are never flagged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.features import InvalidInputError

SERIES_COLUMNS = ("timestamp", "value")


class InvalidSeriesError(InvalidInputError):
    """A series that cannot be scored."""


def validate_series(
    frame: pd.DataFrame, source: str, min_rows: int = 1, accept_unordered: bool = False
) -> pd.DataFrame:
    """Check a raw series and return it typed: ``timestamp`` datetime64, ``value`` float64.

    Args:
        frame: (n, >= 2) table with ``timestamp`` and ``value`` (strings or typed).
        source: the file (or input) name used in error messages.
        min_rows: fewest rows accepted (a window's length).
        accept_unordered: keep rows whose timestamp repeats or goes back, in file
            order, as NAB does for the few corpus series that have them. Off by
            default: in a user's own series such rows are usually a mistake.

    Raises:
        InvalidSeriesError: missing columns, unparseable timestamps, non-numeric or
            missing values, duplicated or unsorted timestamps (unless accepted), or
            fewer than ``min_rows`` rows.
    """
    missing = [c for c in SERIES_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidSeriesError(
            f"{source}: missing column(s) {missing}; expected columns {list(SERIES_COLUMNS)}, "
            f"got {list(frame.columns)}"
        )
    raw_time, raw_value = frame["timestamp"], frame["value"]
    # Numbers and booleans are no date-times (pandas would read 5 as 5 ns after 1970).
    timestamps = pd.to_datetime(raw_time.where(~_numbers_or_booleans(raw_time)), errors="coerce")
    bad_time = timestamps.isna()
    if bad_time.any():
        rows = np.flatnonzero(bad_time.to_numpy())
        raise InvalidSeriesError(
            f"{source}: {len(rows)} timestamp(s) missing or unparseable, first at row {rows[0]} "
            f"({raw_time.iloc[rows[0]]!r}); expected date-times such as '2014-04-01 00:00:00'"
        )
    # A boolean is no value (pandas would read true as 1); text holding a number is
    # one (NAB's files are read as text).
    is_boolean = raw_value.map(lambda value: isinstance(value, bool | np.bool_))
    values = pd.to_numeric(raw_value.where(~is_boolean), errors="coerce").astype("float64")
    bad_value = ~np.isfinite(values.to_numpy())
    if bad_value.any():
        rows = np.flatnonzero(bad_value)
        raise InvalidSeriesError(
            f"{source}: {len(rows)} value(s) missing or non-numeric, first at row {rows[0]} "
            f"({raw_value.iloc[rows[0]]!r}); expected finite numbers"
        )
    if not accept_unordered:
        _check_order(timestamps, source)
    if len(frame) < min_rows:
        raise InvalidSeriesError(
            f"{source}: {len(frame)} rows, shorter than one window; expected at least {min_rows}"
        )
    return pd.DataFrame({"timestamp": timestamps.to_numpy(), "value": values.to_numpy()})


def _numbers_or_booleans(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return pd.Series(True, index=column.index)
    return column.map(lambda entry: isinstance(entry, bool | int | float | np.number))


def _check_order(timestamps: pd.Series, source: str) -> None:
    """Raise unless every timestamp is later than the one before."""
    hint = "(or accept such rows: accept_unordered_timestamps)"
    duplicated = timestamps.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InvalidSeriesError(
            f"{source}: duplicated timestamp {timestamps.iloc[row]} at row {row}; "
            f"expected one row per timestamp {hint}"
        )
    if not timestamps.is_monotonic_increasing:
        row = int(np.flatnonzero(np.diff(timestamps.to_numpy()) < np.timedelta64(0))[0]) + 1
        raise InvalidSeriesError(
            f"{source}: timestamps not in increasing order at row {row} "
            f"({timestamps.iloc[row - 1]} then {timestamps.iloc[row]}); expected sorted rows {hint}"
        )


def fit_standard_scaler(values: np.ndarray) -> dict[str, float]:
    """Standard scaler of (n,) training values: ``{"mean", "scale"}``.

    ``scale`` is the population standard deviation, as in sklearn's
    ``StandardScaler``, and 1 for a constant series (as sklearn does).
    """
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(np.asarray(values, dtype="float64").reshape(-1, 1))
    return {"mean": float(scaler.mean_[0]), "scale": float(scaler.scale_[0])}


def scale_values(values: np.ndarray, scaler: dict[str, float]) -> np.ndarray:
    """``(values - mean) / scale`` with a fitted ``{"mean", "scale"}`` scaler: (n,) float32."""
    return ((np.asarray(values, dtype="float64") - scaler["mean"]) / scaler["scale"]).astype(
        "float32"
    )


def sliding_windows(scaled_values: np.ndarray, look_back: int) -> np.ndarray:
    """Every window of ``look_back`` consecutive rows: (n - look_back + 1, look_back, 1) float32.

    Window i is rows i..i+look_back-1; the last possible window is kept.
    """
    values = np.asarray(scaled_values, dtype="float32")
    return np.lib.stride_tricks.sliding_window_view(values, look_back)[..., None]


def last_step_scores(log_likelihood: np.ndarray) -> np.ndarray:
    """Per-window score, -log-likelihood at its last step: (n, look_back) -> (n,) float64."""
    return -np.asarray(log_likelihood, dtype="float64")[:, -1]


def window_log_likelihood(keras_model: Any, windows: np.ndarray) -> np.ndarray:
    """The model's per-step log-likelihood of each window: (n, look_back, 1) -> (n, look_back).

    All windows go in one batch: one input shape per call, so TensorFlow traces
    the prediction once per call rather than again for a shorter last batch.
    """
    return keras_model.predict(windows, batch_size=max(len(windows), 1), verbose=0)


def causal_scores(keras_model: Any, scaled_values: np.ndarray, look_back: int) -> np.ndarray:
    """Anomaly score of each row from the window that ends at it.

    Args:
        keras_model: windows ``(batch, look_back, 1)`` -> log-likelihood ``(batch, look_back)``.
        scaled_values: (n,) standardised values.
        look_back: window length.

    Returns:
        (n,) float64: the last-step score for ``t >= look_back - 1``, NaN before.
    """
    scores = np.full(len(scaled_values), np.nan)
    if len(scaled_values) < look_back:
        return scores
    windows = sliding_windows(scaled_values, look_back)
    scores[look_back - 1 :] = last_step_scores(window_log_likelihood(keras_model, windows))
    return scores


def flag_anomalies(scores: np.ndarray, threshold: float) -> np.ndarray:
    """(n,) bool: score >= threshold; a row without a score (NaN) is never flagged."""
    return np.nan_to_num(np.asarray(scores, dtype="float64"), nan=-np.inf) >= threshold
