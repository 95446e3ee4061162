"""Inputs and targets of the next-value network, and its raw score (docs/algorithms.md, 6).

Row t's features come from rows before t and from t's own timestamp:
- the ``look_back`` values before t, each minus the value at t - 1, in steps
  (the standard deviation of the change from one row to the next on the
  fitted rows), so the network sees a shape, wherever its level;
- that level, the value at t - 1 against the fitted rows' mean (clipped at
  +/- 10 steps: a level the network never saw is the out-of-range rule's);
- the series' period: the change one day earlier at the same time of day, and
  the value one day earlier against the value at t - 1 (zeros and a 0 flag
  while there is no row a day back, or when the rows are not minutes to hours apart);
- the time of day and the day of the week, as sine and cosine.
The target is t's change from t - 1, in steps. No TensorFlow, Kedro or MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Rows a day apart are found from the median spacing of timestamps; outside this
# range (seconds apart, or days apart) a daily period is not a useful input.
MIN_ROWS_PER_DAY, MAX_ROWS_PER_DAY = 4, 5000
CLIP_STEPS = 10.0
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class NextValueScaler:
    """What the features are measured against, from the fitted rows only."""

    level: float  # mean value
    step: float  # standard deviation of the change from one row to the next (> 0)
    rows_per_day: int  # 0: no daily period

    def to_dict(self) -> dict[str, float]:
        return {"level": self.level, "step": self.step, "rows_per_day": self.rows_per_day}


def fit_next_value_scaler(values: np.ndarray, timestamps: np.ndarray) -> NextValueScaler:
    """The scaler of (n,) fitted values and their (n,) datetime64 timestamps."""
    values = np.asarray(values, dtype="float64")
    spread = float(np.std(np.diff(values))) if len(values) > 1 else 0.0
    # A flat or stepwise series has (almost) no change: a floor keeps steps finite.
    step = max(spread, 1e-3 * (float(np.mean(np.abs(values))) + 1e-9), 1e-9)
    spacing = np.diff(np.asarray(timestamps, dtype="datetime64[s]")).astype("float64")
    spacing = spacing[spacing > 0]
    rows_per_day = round(float(SECONDS_PER_DAY / np.median(spacing))) if spacing.size else 0
    if not MIN_ROWS_PER_DAY <= rows_per_day <= MAX_ROWS_PER_DAY:
        rows_per_day = 0
    return NextValueScaler(level=float(np.mean(values)), step=step, rows_per_day=rows_per_day)


def feature_count(look_back: int) -> int:
    """Features per row: the window, the level, three of the period, four of the calendar."""
    return look_back + 1 + 3 + 4


def next_value_features(
    values: np.ndarray,
    timestamps: np.ndarray,
    rows: np.ndarray,
    look_back: int,
    scaler: NextValueScaler,
) -> tuple[np.ndarray, np.ndarray]:
    """Features and targets of the given rows, each from earlier rows and its timestamp.

    Args:
        values: (N,) the whole series (rows at or after each t are not read for t's features).
        timestamps: (N,) datetime64.
        rows: (n,) the rows t to describe, each >= ``look_back``.

    Returns:
        (n, feature_count(look_back)) float32 features, (n,) float32 targets.
    """
    values = np.asarray(values, dtype="float64")
    rows = np.asarray(rows, dtype="int64")
    if rows.size and rows.min() < look_back:
        raise ValueError(f"Row {rows.min()} has fewer than look_back = {look_back} rows before it")
    step = scaler.step
    previous = values[rows - 1]
    window = values[rows[:, None] - look_back + np.arange(look_back)[None, :]]
    level = np.clip((previous - scaler.level) / step, -CLIP_STEPS, CLIP_STEPS)
    day = scaler.rows_per_day
    has_day = (rows - day - 1 >= 0) if day else np.zeros(len(rows), dtype=bool)
    day_back = np.where(has_day, rows - day, 0)
    change_day_back = np.where(has_day, values[day_back] - values[np.maximum(day_back - 1, 0)], 0)
    value_day_back = np.where(has_day, values[day_back] - previous, 0)
    moments = np.asarray(timestamps)[rows].astype("datetime64[s]")
    days = moments.astype("datetime64[D]")
    seconds = (moments - days).astype("float64")
    weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
    features = np.column_stack(
        [
            (window - previous[:, None]) / step,
            level,
            np.clip(change_day_back / step, -CLIP_STEPS, CLIP_STEPS),
            np.clip(value_day_back / step, -CLIP_STEPS, CLIP_STEPS),
            has_day.astype("float64"),
            np.sin(2 * np.pi * seconds / SECONDS_PER_DAY),
            np.cos(2 * np.pi * seconds / SECONDS_PER_DAY),
            np.sin(2 * np.pi * weekday / 7),
            np.cos(2 * np.pi * weekday / 7),
        ]
    )
    targets = (values[rows] - previous) / step
    return features.astype("float32"), targets.astype("float32")


def negative_log_likelihood(prediction: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-row ``-log Laplace(target | location, scale)``: (n, 2) predictions and
    (n,) targets -> (n,), the network's training loss row by row."""
    prediction = np.asarray(prediction, dtype="float64")
    location, scale = prediction[:, 0], prediction[:, 1]
    return np.abs(np.asarray(targets, dtype="float64") - location) / scale + np.log(2.0 * scale)
