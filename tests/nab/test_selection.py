"""Settings chosen on some series, and leave-one-category-out, on a tiny corpus made here."""

from __future__ import annotations

import numpy as np
import pytest

from advanced_dl.nab import score as nab_score
from advanced_dl.nab.selection import LabelledSeries, choose_settings, leave_one_category_out

ROWS = 200  # probationary period: 30 rows
GRID = ["early", "late"]  # two settings: detections at a window's start, or after it


def _series(name: str, anomalies: list[int], rng: np.random.Generator) -> LabelledSeries:
    """Under "early" the series fires at each window's first row, under "late" 30 rows
    after the window (a false positive); both also fire once at random outside."""
    windows = [(row - 5, row + 5) for row in anomalies]
    early, late = rng.uniform(0, 0.3, ROWS), rng.uniform(0, 0.3, ROWS)
    for left, right in windows:
        early[left], late[min(right + 30, ROWS - 1)] = 0.9, 0.9
    return LabelledSeries(name=name, windows=windows, scores=[early, late])


def _corpus(held_out_anomalies: list[int]) -> list[LabelledSeries]:
    rng = np.random.default_rng(0)
    return [
        _series("a/one.csv", [60, 140], rng),
        _series("a/two.csv", [100], rng),
        _series("b/three.csv", [80], rng),
        _series("c/held.csv", held_out_anomalies, rng),
        LabelledSeries("d/calm.csv", [], [rng.uniform(0, 0.3, ROWS)] * 2),
    ]


def test_choose_settings_takes_the_best_setting_with_its_threshold():
    corpus = _corpus([120])
    choice = choose_settings(corpus, GRID, "standard")
    assert choice.settings == "early"
    assert choice.threshold == pytest.approx(0.9)
    sweep = nab_score.sweep_thresholds(
        [nab_score.SeriesScores(s.scores[0], s.windows) for s in corpus], "standard"
    )
    assert choice.raw == sweep.raw
    with pytest.raises(ValueError, match="empty"):
        choose_settings(corpus, [], "standard")


def test_the_held_out_category_never_chooses_its_own_settings():
    corpus = _corpus([120])
    original = leave_one_category_out(corpus, GRID, "standard")
    # Move the held-out series' window onto its "late" detection (row 155): its
    # labels now favour "late", its scores are unchanged.
    held = corpus[3]
    moved_series = LabelledSeries(held.name, [(150, 165)], held.scores)
    assert choose_settings([moved_series], GRID, "standard").settings == "late"
    moved = leave_one_category_out([*corpus[:3], moved_series, corpus[4]], GRID, "standard")
    assert moved.choices["c"] == original.choices["c"]
    assert moved.choices["c"].settings == "early"
    assert moved.held_out_raw["c"] != original.held_out_raw["c"]
    assert set(original.choices) == {"a", "b", "c", "d"}


def test_held_out_scores_add_up_to_a_corpus_score():
    corpus = _corpus([120])
    result = leave_one_category_out(corpus, GRID, "reward_low_fn")
    null = sum(nab_score.null_score(s.windows, "reward_low_fn") for s in corpus)
    perfect = sum(nab_score.perfect_score(s.windows, "reward_low_fn") for s in corpus)
    expected = nab_score.normalize(sum(result.held_out_raw.values()), null, perfect)
    assert result.normalized == pytest.approx(expected)
    # Every fold chooses "early" here, so each category scores as with the corpus choice.
    assert all(choice.settings == "early" for choice in result.choices.values())


def test_one_category_is_not_enough():
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match="two or more"):
        leave_one_category_out([_series("a/x.csv", [60], rng)], GRID, "standard")
