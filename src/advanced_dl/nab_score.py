"""The Numenta Anomaly Benchmark (NAB) score of a series (docs/algorithms.md, section 5).

No Kedro.

Rows are positions 0..N-1 of a series; a detection is a row flagged anomalous.
A window is a pair ``(L, R)`` of first and last row (both included), sorted and
disjoint as in ``combined_windows.json``.

- The first ``min(floor(0.15 * N), 750)`` rows are probationary: detections there are ignored.
- A window earns its best detection: at row i, ``tp * sigma(-(R - i + 1) / W) / sigma(-1)``
  with ``W = R - L + 1`` and ``sigma(y) = 2 / (1 + exp(5 y)) - 1``; a window without
  detections costs ``fn``. Further detections inside a window add nothing.
- A detection outside every window adds ``fp * sigma((i - R_prev) / (W_prev - 1))``
  (negative) after a window ``(L_prev, R_prev)``, or ``-fp`` before the first window.
- Normalised: ``100 * (raw - null) / (perfect - null)``; the null detector never fires,
  the perfect one fires once at each window's first row.

NAB proper picks, per profile, the one threshold that maximises the corpus score;
here the detections are given (the threshold comes from validation data).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PROBATIONARY_FRACTION = 0.15
PROBATIONARY_MAX_ROWS = 750


@dataclass(frozen=True)
class Profile:
    """Weights of a NAB application profile."""

    tp_weight: float
    fn_weight: float
    fp_weight: float


PROFILES: dict[str, Profile] = {
    "standard": Profile(tp_weight=1.0, fn_weight=1.0, fp_weight=0.11),
    "reward_low_fp": Profile(tp_weight=1.0, fn_weight=1.0, fp_weight=0.22),
    "reward_low_fn": Profile(tp_weight=1.0, fn_weight=2.0, fp_weight=0.11),
}


def scaled_sigmoid(y: float) -> float:
    """NAB's ``2 / (1 + exp(5 y)) - 1``: 1 far left, 0 at y = 0, -1 far right."""
    exponent = 5.0 * y
    if exponent > 700:  # exp overflows; the limit is -1
        return -1.0
    return 2.0 / (1.0 + math.exp(exponent)) - 1.0


def probationary_rows(n_rows: int) -> int:
    """Number of leading rows whose detections NAB ignores: min(floor(0.15 N), 750)."""
    return min(math.floor(PROBATIONARY_FRACTION * n_rows), PROBATIONARY_MAX_ROWS)


def _check_windows(windows: Sequence[tuple[int, int]], n_rows: int) -> list[tuple[int, int]]:
    checked = [(int(left), int(right)) for left, right in windows]
    previous_right = -1
    for left, right in checked:
        if not 0 <= left <= right < n_rows:
            raise ValueError(f"Window ({left}, {right}) is not inside rows 0..{n_rows - 1}")
        if left <= previous_right:
            raise ValueError(f"Windows must be sorted and disjoint, got {checked}")
        previous_right = right
    return checked


def true_positive_score(row: int, window: tuple[int, int], profile: Profile) -> float:
    """What a detection at ``row`` inside ``window`` earns: tp at the left edge, ~0 at the right."""
    left, right = window
    width = right - left + 1
    return profile.tp_weight * scaled_sigmoid(-(right - row + 1) / width) / scaled_sigmoid(-1.0)


def false_positive_score(
    row: int, previous_window: tuple[int, int] | None, profile: Profile
) -> float:
    """What a detection outside every window costs (a value <= 0)."""
    if previous_window is None:
        return -profile.fp_weight
    left, right = previous_window
    width = right - left + 1
    return profile.fp_weight * scaled_sigmoid((row - right) / max(width - 1, 1))


def raw_score(
    detections: Sequence[bool] | np.ndarray,
    windows: Sequence[tuple[int, int]],
    profile: Profile | str = "standard",
) -> float:
    """The raw NAB score of one series.

    Args:
        detections: (N,) booleans, True where the detector fired.
        windows: ``(L, R)`` row pairs, sorted and disjoint.
        profile: a :class:`Profile` or a key of :data:`PROFILES`.
    """
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    flags = np.asarray(detections, dtype=bool)
    windows = _check_windows(windows, len(flags))
    best: list[float | None] = [None] * len(windows)
    false_positive_total = 0.0
    start = probationary_rows(len(flags))
    for row in np.flatnonzero(flags):
        if row < start:
            continue
        inside = next((k for k, (lo, hi) in enumerate(windows) if lo <= row <= hi), None)
        if inside is not None:
            earned = true_positive_score(int(row), windows[inside], profile)
            best[inside] = earned if best[inside] is None else max(best[inside], earned)
            continue
        previous = [w for w in windows if w[1] < row]
        false_positive_total += false_positive_score(
            int(row), previous[-1] if previous else None, profile
        )
    window_total = sum(-profile.fn_weight if b is None else b for b in best)
    return window_total + false_positive_total


def null_score(windows: Sequence[tuple[int, int]], profile: Profile | str = "standard") -> float:
    """Raw score of a detector that never fires: every window missed."""
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    return -profile.fn_weight * len(windows)


def perfect_score(windows: Sequence[tuple[int, int]], profile: Profile | str = "standard") -> float:
    """Raw score of a detector firing once at each window's first row."""
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    return profile.tp_weight * len(windows)


def normalized_score(
    detections: Sequence[bool] | np.ndarray,
    windows: Sequence[tuple[int, int]],
    profile: Profile | str = "standard",
) -> float:
    """``100 * (raw - null) / (perfect - null)`` for one series (0 = null, 100 = perfect).

    NAB normalises a corpus; for a single series without windows null and
    perfect are both 0 and the ratio is undefined: the score is then taken as
    ``100 * (1 + raw)`` (100 without false positives, each far one costing 100 x fp).
    """
    raw = raw_score(detections, windows, profile)
    null, perfect = null_score(windows, profile), perfect_score(windows, profile)
    if perfect == null:  # no windows: 100 without false positives, minus 100 x their cost
        return 100.0 * (1.0 + raw)
    return 100.0 * (raw - null) / (perfect - null)
