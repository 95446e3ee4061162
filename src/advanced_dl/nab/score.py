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
import pandas as pd

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


def _row_effects(
    n_rows: int, windows: Sequence[tuple[int, int]], profile: Profile
) -> tuple[np.ndarray, np.ndarray]:
    """Per scored row (probationary rows dropped): the window it lies in (-1 outside)
    and what a detection there earns (a true positive's credit, or a false
    positive's cost). (n_rows - P,) int64 and (n_rows - P,) float64."""
    rows = np.arange(probationary_rows(n_rows), n_rows)
    window_of = np.full(len(rows), -1, dtype="int64")
    earned = np.empty(len(rows))
    lefts = np.array([left for left, _ in windows], dtype="int64")
    rights = np.array([right for _, right in windows], dtype="int64")
    widths = rights - lefts + 1
    for k, (left, right) in enumerate(windows):
        window_of[(rows >= left) & (rows <= right)] = k
    inside = window_of >= 0
    k = window_of[inside]
    earned[inside] = (
        profile.tp_weight
        * _scaled_sigmoid_array(-(rights[k] - rows[inside] + 1) / widths[k])
        / scaled_sigmoid(-1.0)
    )
    previous = np.searchsorted(rights, rows[~inside], side="left") - 1
    after = previous >= 0
    cost = np.full(len(previous), -profile.fp_weight)
    p = previous[after]
    cost[after] = profile.fp_weight * _scaled_sigmoid_array(
        (rows[~inside][after] - rights[p]) / np.maximum(widths[p] - 1, 1)
    )
    earned[~inside] = cost
    return window_of, earned


def _scaled_sigmoid_array(y: np.ndarray) -> np.ndarray:
    """:func:`scaled_sigmoid` elementwise (exp capped where it would overflow: the limit -1)."""
    return 2.0 / (1.0 + np.exp(np.minimum(5.0 * np.asarray(y, dtype=float), 700.0))) - 1.0


def sweep_thresholds(corpus: Sequence[SeriesScores], profile: Profile | str) -> ThresholdChoice:
    """The single threshold, for the whole corpus, that maximises its summed raw score.

    NAB chooses each profile's threshold this way for every detector on its
    scoreboard. A row fires when its score is >= the threshold, so the raw score
    only changes at the scores themselves: rows are taken from the highest score
    down, and the corpus score is updated as each group of equal scores starts to
    fire (a window's value is its best detection, i.e. its earliest; a row outside
    every window adds its own false-positive cost). Vectorised: one sort and one
    cumulative sum, O(N log N).

    Returns the highest threshold among those that reach the best score; with
    no row firing (threshold above every score) the raw score is the null one.
    """
    return sweep_thresholds_of_subsets(corpus, profile, [[True] * len(corpus)])[0]


def sweep_thresholds_of_subsets(
    corpus: Sequence[SeriesScores], profile: Profile | str, subsets: Sequence[Sequence[bool]]
) -> list[ThresholdChoice]:
    """:func:`sweep_thresholds` of each subset of the corpus's series, sharing one sort.

    Args:
        subsets: per subset, a flag per series of ``corpus`` (True: the series counts).

    Returns:
        One :class:`ThresholdChoice` per subset, each as ``sweep_thresholds`` gives
        for that subset's series alone.
    """
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    scores_parts, keys_parts, earned_parts, series_parts = [], [], [], []
    nulls, perfects = [], []
    window_base = 0  # key of each series' first window
    for index, series in enumerate(corpus):
        scores = np.asarray(series.scores, dtype=float)
        windows = _check_windows(series.windows, len(scores))
        nulls.append(null_score(windows, profile))
        perfects.append(perfect_score(windows, profile))
        window_of, earned = _row_effects(len(scores), windows, profile)
        scored = scores[probationary_rows(len(scores)) :]
        finite = np.isfinite(scored)
        scores_parts.append(scored[finite])
        keys_parts.append(np.where(window_of >= 0, window_of + window_base, -1)[finite])
        earned_parts.append(earned[finite])
        series_parts.append(np.full(int(finite.sum()), index))
        window_base += len(windows)
    scores = np.concatenate(scores_parts) if scores_parts else np.empty(0)
    order = np.argsort(-scores, kind="stable")
    scores = scores[order]
    keys = np.concatenate(keys_parts)[order] if keys_parts else np.empty(0, dtype="int64")
    earned = np.concatenate(earned_parts)[order] if earned_parts else np.empty(0)
    series_of = np.concatenate(series_parts)[order] if series_parts else np.empty(0, dtype=int)
    # A window row adds what it improves on the window's best detection so far;
    # the window's first detection also lifts the missed window's cost. A window
    # belongs to one series, so this holds within any subset of series.
    delta = earned.copy()
    in_window = keys >= 0
    by_window = pd.DataFrame({"key": keys[in_window], "earned": earned[in_window]})
    best_so_far = by_window.groupby("key")["earned"].cummax()
    best_before = best_so_far.groupby(by_window["key"]).shift(1)
    delta[in_window] = np.where(
        best_before.isna(),
        by_window["earned"] + profile.fn_weight,
        best_so_far - best_before.fillna(0.0),
    )
    choices = []
    for subset in subsets:
        member = np.asarray(subset, dtype=bool)
        if len(member) != len(corpus):
            raise ValueError(f"A subset flags {len(member)} series; the corpus has {len(corpus)}")
        null = float(np.sum(np.asarray(nulls)[member])) if len(corpus) else 0.0
        perfect = float(np.sum(np.asarray(perfects)[member])) if len(corpus) else 0.0
        best = ThresholdChoice(threshold=math.inf, raw=null, null=null, perfect=perfect)
        rows = member[series_of] if len(corpus) else np.zeros(0, dtype=bool)
        kept = scores[rows]
        if kept.size:
            raw = null + np.cumsum(delta[rows])
            group_end = np.append(kept[1:] != kept[:-1], True)  # each equal-score group's last
            candidates = np.flatnonzero(group_end)
            winner = candidates[np.argmax(raw[candidates])]
            if raw[winner] > null:
                best = ThresholdChoice(
                    threshold=float(kept[winner]),
                    raw=float(raw[winner]),
                    null=null,
                    perfect=perfect,
                )
        choices.append(best)
    return choices
