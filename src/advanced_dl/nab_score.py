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

For one series the detections are given (``raw_score``, ``normalized_score``). For a
corpus, NAB picks per profile the one threshold that maximises the summed raw score:
``sweep_thresholds``.
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


def windows_from_column(window: Sequence[int] | np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` row of each window from a (n,) per-row window index (-1 outside)."""
    window = np.asarray(window)
    return [
        (int(rows[0]), int(rows[-1]))
        for k in np.unique(window[window >= 0])
        for rows in [np.flatnonzero(window == k)]
    ]


def scored_detections(detections: Sequence[bool] | np.ndarray) -> np.ndarray:
    """(n,) bool: the detections NAB counts, i.e. none in the probationary period."""
    counted = np.array(detections, dtype=bool)
    counted[: probationary_rows(len(counted))] = False
    return counted


def normalize(raw: float, null: float, perfect: float) -> float:
    """``100 * (raw - null) / (perfect - null)``: 0 for the null detector, 100 for the perfect one.

    NaN without windows (perfect = null), where the ratio is undefined.
    """
    if perfect == null:
        return math.nan
    return float(100.0 * (raw - null) / (perfect - null))


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
    return normalize(raw, null, perfect)


@dataclass(frozen=True)
class SeriesScores:
    """One series of a corpus: the anomaly score of each row and its NAB windows."""

    scores: np.ndarray  # (N,) in [0, 1]; NaN rows never fire
    windows: Sequence[tuple[int, int]]


@dataclass(frozen=True)
class ThresholdChoice:
    """The corpus threshold that maximises the raw score under one profile, and that score."""

    threshold: float
    raw: float
    null: float
    perfect: float

    @property
    def normalized(self) -> float:
        """``100 * (raw - null) / (perfect - null)`` over the corpus."""
        return normalize(self.raw, self.null, self.perfect)


def sweep_thresholds(corpus: Sequence[SeriesScores], profile: Profile | str) -> ThresholdChoice:
    """The single threshold, for the whole corpus, that maximises its summed raw score.

    NAB chooses each profile's threshold this way for every detector on its
    scoreboard. A row fires when its score is >= the threshold, so the raw score
    only changes at the scores themselves: rows are taken from the highest score
    down, and the corpus score is updated as each group of equal scores starts to
    fire (a window's value is its best detection, i.e. its earliest; a row outside
    every window adds its own false-positive cost). One pass, O(N log N).

    Returns the highest threshold among those that reach the best score; with
    no row firing (threshold above every score) the raw score is the null one.
    """
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    rows_score: list[float] = []
    # Per row: (window key, what the row earns in it), or (-1, its false-positive cost).
    rows_effect: list[tuple[int, float]] = []
    null = perfect = 0.0
    window_base = 0  # key of each series' first window
    for series in corpus:
        scores = np.asarray(series.scores, dtype=float)
        windows = _check_windows(series.windows, len(scores))
        null += null_score(windows, profile)
        perfect += perfect_score(windows, profile)
        window_of = np.full(len(scores), -1)
        for k, (left, right) in enumerate(windows):
            window_of[left : right + 1] = k
        for row in range(probationary_rows(len(scores)), len(scores)):
            if not np.isfinite(scores[row]):
                continue
            k = int(window_of[row])
            rows_score.append(scores[row])
            if k >= 0:
                rows_effect.append((window_base + k, true_positive_score(row, windows[k], profile)))
            else:
                previous = [w for w in windows if w[1] < row]
                cost = false_positive_score(row, previous[-1] if previous else None, profile)
                rows_effect.append((-1, cost))
        window_base += len(windows)

    best_tp: list[float | None] = [None] * window_base
    raw = null
    best = ThresholdChoice(threshold=math.inf, raw=raw, null=null, perfect=perfect)
    order = np.argsort(-np.asarray(rows_score, dtype=float), kind="stable")
    position = 0
    while position < len(order):
        threshold = rows_score[order[position]]
        while position < len(order) and rows_score[order[position]] == threshold:
            row = order[position]
            key, earned = rows_effect[row]
            if key < 0:
                raw += earned
            elif best_tp[key] is None:
                raw += earned + profile.fn_weight  # the missed window's cost is lifted
                best_tp[key] = earned
            elif earned > best_tp[key]:
                raw += earned - best_tp[key]
                best_tp[key] = earned
            position += 1
        if raw > best.raw:
            best = ThresholdChoice(threshold=float(threshold), raw=raw, null=null, perfect=perfect)
    return best
