"""NAB scoring rules on cases computed by hand (docs/algorithms.md, section 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advanced_dl.nab import score as nab_score
from advanced_dl.nab.score import (
    PROFILES,
    SeriesScores,
    normalized_score,
    null_score,
    perfect_score,
    raw_score,
    scaled_sigmoid,
    sweep_thresholds,
)

# 1000 rows: the first 150 are probationary (floor(0.15 * 1000) = 150 < 750).
N = 1000
WINDOW = (400, 499)  # W = 100 rows


def flags(*rows: int, n: int = N) -> np.ndarray:
    detections = np.zeros(n, dtype=bool)
    detections[list(rows)] = True
    return detections


def test_scaled_sigmoid_values():
    assert scaled_sigmoid(0.0) == 0.0
    # 2 / (1 + e^-5) - 1 = 0.986614...
    assert scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert scaled_sigmoid(-1.0) == pytest.approx(0.9866142981514305)
    assert scaled_sigmoid(1e6) == -1.0


def test_probationary_rows():
    assert nab_score.probationary_rows(1000) == 150
    assert nab_score.probationary_rows(4032) == 604  # floor(604.8)
    assert nab_score.probationary_rows(10_000) == 750  # capped


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_detection_at_left_edge_earns_tp_weight(profile):
    assert raw_score(flags(400), [WINDOW], profile) == pytest.approx(PROFILES[profile].tp_weight)
    assert normalized_score(flags(400), [WINDOW], profile) == pytest.approx(100.0)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_missed_window_costs_fn_weight(profile):
    assert raw_score(flags(), [WINDOW], profile) == pytest.approx(-PROFILES[profile].fn_weight)
    assert normalized_score(flags(), [WINDOW], profile) == pytest.approx(0.0)


def test_detection_at_right_edge_earns_almost_nothing():
    # sigma(-(499 - 499 + 1) / 100) / sigma(-1) = sigma(-0.01) / sigma(-1)
    expected = (2 / (1 + math.exp(-0.05)) - 1) / (2 / (1 + math.exp(-5)) - 1)
    assert raw_score(flags(499), [WINDOW]) == pytest.approx(expected)
    assert expected == pytest.approx(0.02533, abs=1e-4)


def test_detection_mid_window():
    # Row 449: R - i + 1 = 51, y = -0.51; sigma = 2 / (1 + e^-2.55) - 1 = 0.855...
    expected = (2 / (1 + math.exp(-2.55)) - 1) / (2 / (1 + math.exp(-5)) - 1)
    assert raw_score(flags(449), [WINDOW]) == pytest.approx(expected)
    # standard profile normalised: 100 * (raw + 1) / 2
    assert normalized_score(flags(449), [WINDOW]) == pytest.approx(50 * (expected + 1))


def test_detection_just_after_window_costs_almost_nothing():
    # y = (500 - 499) / (100 - 1); 0.11 * sigma(1/99) = -0.0027...
    cost = 0.11 * (2 / (1 + math.exp(5 / 99)) - 1)
    assert cost == pytest.approx(-0.002776, abs=1e-5)
    assert raw_score(flags(400, 500), [WINDOW]) == pytest.approx(1 + cost)


def test_far_false_positive_costs_fp_weight():
    # 400 rows after a 100-row window: y = 400 / 99, sigma ~ -1
    score = raw_score(flags(400, 899), [WINDOW], "reward_low_fp")
    assert score == pytest.approx(1 - 0.22, abs=1e-6)


def test_false_positive_before_any_window_costs_fp_weight():
    assert raw_score(flags(200, 400), [WINDOW]) == pytest.approx(1 - 0.11)


def test_every_false_positive_counts():
    assert raw_score(flags(200, 201, 202, 400), [WINDOW]) == pytest.approx(1 - 3 * 0.11)


def test_probationary_detections_are_ignored():
    # Rows 0..149 are probationary: the detections there neither cost nor earn.
    assert raw_score(flags(0, 10, 149, 400), [WINDOW]) == pytest.approx(1.0)
    early_window = (100, 199)
    # A detection at row 120 inside an early window is ignored: the window is missed...
    assert raw_score(flags(120), [early_window]) == pytest.approx(-1.0)
    # ...unless another detection after the probationary period lands in it.
    expected = (2 / (1 + math.exp(-5 * 50 / 100)) - 1) / (2 / (1 + math.exp(-5)) - 1)
    assert raw_score(flags(120, 150), [early_window]) == pytest.approx(expected)


def test_extra_detections_inside_a_window_add_nothing():
    assert raw_score(flags(400, 401, 450, 499), [WINDOW]) == pytest.approx(1.0)
    assert raw_score(flags(450, 451, 499), [WINDOW]) == pytest.approx(
        raw_score(flags(450), [WINDOW])
    )


def test_reward_low_fn_profile_normalisation():
    # null = -2, perfect = 1: a missed window of two scores 100 * (1 - 2 + 2) / 3 for one hit.
    windows = [(200, 299), (600, 699)]
    score = normalized_score(flags(200), windows, "reward_low_fn")
    assert score == pytest.approx(100 * ((1 - 2) - (-4)) / (2 - (-4)))


def test_false_positive_after_second_window_measured_from_it():
    windows = [(200, 299), (600, 609)]  # second window W = 10
    cost = 0.11 * (2 / (1 + math.exp(5 * (615 - 609) / 9)) - 1)
    assert raw_score(flags(200, 600, 615), windows) == pytest.approx(2 + cost)


def test_series_without_windows():
    assert normalized_score(flags(), []) == pytest.approx(100.0)
    assert normalized_score(flags(300), []) == pytest.approx(100 - 11)


def test_jumpsup_reference_point():
    # The jumpsup layout: 4032 rows, window rows 2787..3189, anomaly at row 2988.
    # A detection at the anomaly row scores 93.0 (Numenta's HTM scores ~93 there).
    score = normalized_score(flags(2988, n=4032), [(2787, 3189)])
    assert score == pytest.approx(93.03, abs=0.01)


def test_bad_windows_rejected():
    with pytest.raises(ValueError, match="sorted and disjoint"):
        raw_score(flags(), [(300, 400), (350, 500)])
    with pytest.raises(ValueError, match="inside rows"):
        raw_score(flags(), [(900, 1200)])


def _brute_force_best(corpus, profile):
    candidates = sorted({float(s) for series in corpus for s in series.scores if np.isfinite(s)})
    best_threshold, best_raw = math.inf, sum(null_score(s.windows, profile) for s in corpus)
    for threshold in sorted(candidates, reverse=True):
        total = sum(
            raw_score(np.nan_to_num(s.scores, nan=-1.0) >= threshold, s.windows, profile)
            for s in corpus
        )
        if total > best_raw + 1e-12:
            best_threshold, best_raw = threshold, total
    return best_threshold, best_raw


@pytest.mark.parametrize("profile", ["standard", "reward_low_fp", "reward_low_fn"])
def test_threshold_sweep_finds_the_corpus_best_as_brute_force_does(profile):
    rng = np.random.default_rng(3)
    corpus = []
    for n, windows in ((200, [(60, 80), (150, 170)]), (120, []), (300, [(250, 280)])):
        scores = rng.random(n).round(2)  # ties on purpose
        for left, _ in windows:
            scores[left + 3 : left + 6] = rng.uniform(0.8, 1.0, 3).round(2)
        scores[:5] = np.nan
        corpus.append(SeriesScores(scores=scores, windows=windows))
    choice = sweep_thresholds(corpus, profile)
    threshold, raw = _brute_force_best(corpus, profile)
    assert choice.threshold == pytest.approx(threshold)
    assert choice.raw == pytest.approx(raw)
    perfect = sum(perfect_score(s.windows, profile) for s in corpus)
    assert choice.perfect == perfect and choice.null == -PROFILES[profile].fn_weight * 3
    assert choice.normalized == pytest.approx(100 * (raw - choice.null) / (perfect - choice.null))


def test_a_perfect_detector_scores_100_and_one_that_never_fires_0():
    windows = [(100, 120)]
    perfect_scores = np.zeros(400)
    perfect_scores[100] = 1.0
    assert sweep_thresholds([SeriesScores(perfect_scores, windows)], "standard").normalized == (
        pytest.approx(100.0)
    )
    silent = sweep_thresholds([SeriesScores(np.full(400, np.nan), windows)], "standard")
    assert silent.threshold == math.inf and silent.normalized == 0.0


def test_sweeps_of_subsets_equal_sweeps_of_each_subset_alone():
    rng = np.random.default_rng(7)
    corpus = [
        SeriesScores(rng.uniform(size=300), [(100, 130), (200, 220)]),
        SeriesScores(rng.uniform(size=250), [(150, 170)]),
        SeriesScores(rng.uniform(size=200), []),
        SeriesScores(np.round(rng.uniform(size=300), 1), [(120, 140)]),  # tied scores
    ]
    subsets = [[True, True, True, True], [False, True, True, False], [True, False, False, True]]
    for profile in nab_score.PROFILES:
        together = nab_score.sweep_thresholds_of_subsets(corpus, profile, subsets)
        for subset, choice in zip(subsets, together, strict=True):
            alone = sweep_thresholds(
                [c for c, keep in zip(corpus, subset, strict=True) if keep], profile
            )
            assert choice.threshold == alone.threshold
            assert choice.raw == pytest.approx(alone.raw, abs=1e-12)
            assert (choice.null, choice.perfect) == (alone.null, alone.perfect)
