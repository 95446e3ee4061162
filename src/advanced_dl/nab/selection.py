"""Settings chosen on labelled series, and how well they carry over to a category never seen.

A detector's settings that need no retraining (how raw scores are averaged and
compared with their history, the out-of-range rule, the threshold) can be
chosen after the models have scored every row. NAB chooses only the threshold,
on the whole corpus. :func:`choose_settings` chooses a setting of a grid and
its threshold together on some series; :func:`leave_one_category_out` does so
once per NAB category, each time on the other categories' series only, and
scores the held-out category with what was chosen: the held-out scores, added
up over every category, say how well the design carries over to data whose
labels chose nothing (docs/algorithms.md, section 6). No Kedro, no MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from advanced_dl.features.series import flag_anomalies
from advanced_dl.nab import score as nab_score

Settings = TypeVar("Settings")


@dataclass(frozen=True)
class LabelledSeries:
    """One series of a corpus, scored under every setting of a grid."""

    name: str  # "<category>/<file>.csv"
    windows: Sequence[tuple[int, int]]
    scores: Sequence[np.ndarray]  # one (N,) array per setting of the grid, in [0, 1]

    @property
    def category(self) -> str:
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class Choice(Generic[Settings]):
    """The setting and threshold that maximise the raw NAB score of some series."""

    settings: Settings
    threshold: float
    raw: float  # on the series it was chosen on


def choose_settings(
    corpus: Sequence[LabelledSeries], grid: Sequence[Settings], profile: str
) -> Choice[Settings]:
    """The setting of ``grid`` and the corpus threshold that together score ``corpus`` best.

    Ties go to the earlier setting of the grid (its order is the config's).
    """
    return _choose_on_subsets(corpus, grid, profile, [[True] * len(corpus)])[0]


def _choose_on_subsets(
    corpus: Sequence[LabelledSeries],
    grid: Sequence[Settings],
    profile: str,
    subsets: Sequence[Sequence[bool]],
) -> list[Choice[Settings]]:
    """:func:`choose_settings` on each subset of the corpus's series: one sort per setting."""
    if not grid:
        raise ValueError("The settings grid is empty")
    best: list[Choice[Settings] | None] = [None] * len(subsets)
    for index, settings in enumerate(grid):
        sweeps = nab_score.sweep_thresholds_of_subsets(
            [nab_score.SeriesScores(s.scores[index], s.windows) for s in corpus], profile, subsets
        )
        for k, sweep in enumerate(sweeps):
            if best[k] is None or sweep.raw > best[k].raw:
                best[k] = Choice(settings=settings, threshold=sweep.threshold, raw=sweep.raw)
    return best


@dataclass(frozen=True)
class CrossCategoryScore(Generic[Settings]):
    """Each category scored with the settings chosen on the others, under one profile."""

    normalized: float  # the corpus score of the held-out scores
    choices: Mapping[str, Choice[Settings]]  # per held-out category: what the others chose
    held_out_raw: Mapping[str, float]  # per category: its raw score under that choice


def leave_one_category_out(
    corpus: Sequence[LabelledSeries], grid: Sequence[Settings], profile: str
) -> CrossCategoryScore[Settings]:
    """For each category, choose setting and threshold on every other category's series,
    then score the category's own series with them.

    A category without windows (NAB's ``artificialNoAnomaly``) is held out too:
    it adds only the cost of its false positives, so the held-out scores cover
    the same series as the corpus score. The held-out category's labels are
    never read while its settings are chosen.

    Raises:
        ValueError: fewer than two categories, or a fold whose other categories hold no window.
    """
    categories = sorted({s.category for s in corpus})
    if len(categories) < 2:
        raise ValueError(f"Leaving one category out needs two or more; got {categories}")
    for category in categories:
        if not any(s.windows for s in corpus if s.category != category):
            raise ValueError(f"No category but {category!r} has a window to choose settings on")
    others = [[s.category != category for s in corpus] for category in categories]
    choices = dict(zip(categories, _choose_on_subsets(corpus, grid, profile, others), strict=True))
    held_out_raw = {}
    null = perfect = 0.0
    for category in categories:
        choice = choices[category]
        index = list(grid).index(choice.settings)
        raw = 0.0
        for series in (s for s in corpus if s.category == category):
            detections = flag_anomalies(series.scores[index], choice.threshold)
            raw += nab_score.raw_score(detections, series.windows, profile)
            null += nab_score.null_score(series.windows, profile)
            perfect += nab_score.perfect_score(series.windows, profile)
        held_out_raw[category] = raw
    return CrossCategoryScore(
        normalized=nab_score.normalize(sum(held_out_raw.values()), null, perfect),
        choices=choices,
        held_out_raw=held_out_raw,
    )
