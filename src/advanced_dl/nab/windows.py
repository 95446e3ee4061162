"""NAB's label files -> rows: which rows are labelled anomalies, which window holds each row.

``labels/combined_labels.json`` lists each series' anomaly timestamps,
``labels/combined_windows.json`` its ``[start, end]`` windows. Rows are matched
by timestamp, so a series' rows may repeat or go back in time (eight NAB series
do): a window runs from the first to the last row whose timestamp lies in it.
No Kedro, no MLflow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from advanced_dl.features.series import InvalidSeriesError

LABELS_FILE = "labels/combined_labels.json"
WINDOWS_FILE = "labels/combined_windows.json"


def labelled_rows(timestamps: pd.Series, anomaly_times: list[str]) -> np.ndarray:
    """(n,) int64: 1 where a row's timestamp is one of the series' labelled anomalies."""
    times = pd.to_datetime(pd.Series(anomaly_times, dtype="object"))
    return timestamps.isin(times).to_numpy().astype("int64")


def window_of_rows(timestamps: pd.Series, spans: list[list[str]], source: str) -> np.ndarray:
    """(n,) int64 window index per row, -1 outside: a window runs from the first to the
    last row whose timestamp lies in [start, end] (rows between them included).

    Raises:
        InvalidSeriesError: a window holding no row, or overlapping the one before it
            (the message names ``source``).
    """
    window = np.full(len(timestamps), -1, dtype="int64")
    previous_right = -1
    for index, (start, end) in enumerate(spans):
        inside = np.flatnonzero(timestamps.between(pd.Timestamp(start), pd.Timestamp(end)))
        if inside.size == 0:
            raise InvalidSeriesError(
                f"{source}: window {index} [{start}, {end}] of {WINDOWS_FILE} holds no row; "
                "expected windows inside the series"
            )
        left, right = int(inside[0]), int(inside[-1])
        if left <= previous_right:
            raise InvalidSeriesError(f"{source}: window {index} overlaps the one before it")
        window[left : right + 1] = index
        previous_right = right
    return window
