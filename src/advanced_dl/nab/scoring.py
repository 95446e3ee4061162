"""A detector's raw scores -> NAB anomaly scores in [0, 1], and the out-of-range rule.

Every function is causal: a row's output uses that row and earlier ones only.
No Kedro, no MLflow, no TensorFlow (docs/algorithms.md, section 6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from advanced_dl.nab.settings import OutOfRangeSettings, ScoringSettings


def anomaly_likelihood(
    raw_scores: np.ndarray,
    average_rows: int,
    history_rows: int,
    min_history_rows: int,
    fitted_rows: int = 0,
) -> np.ndarray:
    """How unusual each row's recent raw score is against the scores before it: (n,) -> (n,).

    ``z[t] = (mean(raw[t - average_rows + 1 .. t]) - mu) / sigma``, where ``mu`` and
    ``sigma`` are the mean and standard deviation of the raw scores of the
    ``history_rows`` rows before t (t itself excluded), leaving out the first
    ``fitted_rows`` rows: the model was fitted on them, so their scores are
    in-sample and lower than later ones. Causal: z[t] uses rows <= t only.
    NaN where fewer than ``min_history_rows`` earlier scores count or the raw
    score is NaN. A flat history gets sigma >= 1e-6 x (1 + |mu|).
    """
    raw = pd.Series(np.asarray(raw_scores, dtype="float64"))
    recent = raw.rolling(average_rows, min_periods=1).mean()
    history = raw.copy()
    history.iloc[:fitted_rows] = np.nan
    window = history.shift(1).rolling(history_rows, min_periods=min_history_rows)
    mu, sigma = window.mean(), window.std(ddof=0)
    sigma = np.maximum(sigma, 1e-6 * (1.0 + mu.abs()))
    z = ((recent - mu) / sigma).to_numpy(copy=True)
    z[~np.isfinite(raw.to_numpy())] = np.nan
    return z


def keep_new_highs(z: np.ndarray, rows: int) -> np.ndarray:
    """Keep a row's z only where it beats every z of the ``rows`` rows before it: (n,) -> (n,).

    Elsewhere z is lowered to at most 0 (an ordinary row), so one excursion
    yields one high score, at its start, and not a run of them: NAB counts only
    a window's first detection and charges every detection outside windows.
    Causal. ``rows`` = 0 returns z unchanged.
    """
    z = np.asarray(z, dtype="float64")
    if rows == 0:
        return z.copy()
    before = pd.Series(z).shift(1).rolling(rows, min_periods=1).max().to_numpy()
    kept = z.copy()
    beaten = np.isfinite(before) & (z <= before)
    kept[beaten] = np.minimum(z[beaten], 0.0)
    return kept


def unit_interval_scores(z: np.ndarray) -> np.ndarray:
    """Map z to an anomaly score in [0, 1), increasing in z: (n,) -> (n,).

    ``x = -log10(P(Z >= z))`` for a standard normal Z (the tail probability's
    order of magnitude, computed in log space so z = 40 still differs from
    z = 39), then ``x / (1 + x)``. NaN stays NaN.
    """
    from scipy.special import log_ndtr

    z = np.asarray(z, dtype="float64")
    magnitude = -log_ndtr(-z) / np.log(10.0)
    return magnitude / (1.0 + magnitude)


def out_of_range_rows(values: np.ndarray, tolerance: float, cooldown_rows: int) -> np.ndarray:
    """Rows whose value leaves the range of every earlier value: (n,) -> (n,) bool.

    Row t is out of range when its value is above ``max + tolerance x (max - min)``
    or below ``min - tolerance x (max - min)`` of rows 0..t-1 (never while those
    rows are all equal, so a series' first rows cannot fire). A model fitted on
    the first rows reconstructs a new level or a new extreme about as well as an
    old one, so its likelihood hardly moves, while the value itself says the
    series went where it had never been. An excursion beyond the range sets
    records at many rows in a row, so after a flagged row the next
    ``cooldown_rows`` rows are not flagged. Causal.
    """
    value = pd.Series(np.asarray(values, dtype="float64"))
    high, low = value.cummax().shift(1), value.cummin().shift(1)
    margin = tolerance * (high - low)
    beyond = (((value > high + margin) | (value < low - margin)) & (high > low)).to_numpy()
    flagged = np.zeros(len(beyond), dtype=bool)
    last = -cooldown_rows - 1
    for row in np.flatnonzero(beyond):
        if row - last > cooldown_rows:
            flagged[row], last = True, row
    return flagged


def combine_likelihoods(zs: Sequence[np.ndarray], combine: str) -> np.ndarray:
    """The learned parts' z, (N,) each, as one (N,).

    ``max`` takes the larger z (NaN where every part is NaN); ``mean`` their
    sum over the square root of their number (a z again if the parts' errors
    were independent; NaN where any part is NaN).
    """
    if combine == "max":
        return np.fmax.reduce(zs)
    return np.sum(zs, axis=0) / np.sqrt(len(zs))


def combined_likelihood(
    raw_parts: Mapping[str, np.ndarray], scoring: ScoringSettings, fitted_rows: int
) -> np.ndarray:
    """Each learned part's :func:`anomaly_likelihood`, combined by
    :func:`combine_likelihoods`: (N,) per part -> (N,)."""
    zs = [
        anomaly_likelihood(
            raw,
            scoring.average_rows,
            scoring.history_rows,
            scoring.min_history_rows,
            fitted_rows,
        )
        for raw in raw_parts.values()
    ]
    return combine_likelihoods(zs, scoring.combine)


def _learned_from_likelihood(z: np.ndarray, new_high_rows: int, fitted_rows: int) -> np.ndarray:
    scores = np.nan_to_num(unit_interval_scores(keep_new_highs(z, new_high_rows)), nan=0.0)
    scores[:fitted_rows] = 0.0
    return scores


def learned_scores(
    raw_parts: Mapping[str, np.ndarray], scoring: ScoringSettings, fitted_rows: int
) -> np.ndarray:
    """The learned parts' one score per row in [0, 1): (N,) per part -> (N,).

    :func:`combined_likelihood`, :func:`keep_new_highs`, :func:`unit_interval_scores`;
    0 for the first ``fitted_rows`` rows (the models were fitted there) and rows
    without a score yet.
    """
    z = combined_likelihood(raw_parts, scoring, fitted_rows)
    return _learned_from_likelihood(z, scoring.new_high_rows, fitted_rows)


def _rule_flags(
    values: np.ndarray, fitted_rows: int, out_of_range: OutOfRangeSettings | None
) -> np.ndarray:
    flagged = np.zeros(len(values), dtype=bool)
    if out_of_range is not None:
        flagged = out_of_range_rows(values, out_of_range.tolerance, out_of_range.cooldown_rows)
        flagged[:fitted_rows] = False
    return flagged


@dataclass(frozen=True)
class DetectorScores:
    """A series' scores: the learned parts' and the out-of-range rule's."""

    learned: np.ndarray  # (N,) in [0, 1)
    out_of_range: np.ndarray  # (N,) bool

    @property
    def anomaly_scores(self) -> np.ndarray:
        """(N,) in [0, 1]: 1 where out of range, else the learned score."""
        return np.where(self.out_of_range, 1.0, self.learned)


def detector_scores(
    raw_parts: Mapping[str, np.ndarray],
    values: np.ndarray,
    fitted_rows: int,
    scoring: ScoringSettings,
    out_of_range: OutOfRangeSettings | None,
) -> DetectorScores:
    """A series' raw scores per part and values -> its anomaly scores; causal.

    Rows before ``fitted_rows`` (the models' training rows, NAB's probationary
    period) score 0 in both parts; the rule still counts their values as earlier ones.
    """
    return DetectorScores(
        learned=learned_scores(raw_parts, scoring, fitted_rows),
        out_of_range=_rule_flags(values, fitted_rows, out_of_range),
    )


def scores_under_settings(
    raw_parts: Mapping[str, np.ndarray],
    values: np.ndarray,
    fitted_rows: int,
    options: Sequence[tuple[ScoringSettings, OutOfRangeSettings | None]],
) -> list[np.ndarray]:
    """:func:`detector_scores`' anomaly scores under each option, (N,) each.

    Equal to calling it once per option, but each part's likelihood is computed
    once per averaging and history setting, and the rule once per setting.
    """
    likelihoods: dict[tuple[int, int, int], list[np.ndarray]] = {}
    rules: dict[tuple[float, int] | None, np.ndarray] = {}
    scores = []
    for scoring, out_of_range in options:
        key = (scoring.average_rows, scoring.history_rows, scoring.min_history_rows)
        if key not in likelihoods:
            likelihoods[key] = [
                anomaly_likelihood(raw, *key, fitted_rows) for raw in raw_parts.values()
            ]
        rule = (
            None if out_of_range is None else (out_of_range.tolerance, out_of_range.cooldown_rows)
        )
        if rule not in rules:
            rules[rule] = _rule_flags(values, fitted_rows, out_of_range)
        z = combine_likelihoods(likelihoods[key], scoring.combine)
        learned = _learned_from_likelihood(z, scoring.new_high_rows, fitted_rows)
        scores.append(np.where(rules[rule], 1.0, learned))
    return scores
