"""The NAB scoring steps and the out-of-range rule."""

import numpy as np
import pytest

from advanced_dl.nab.scoring import (
    anomaly_likelihood,
    combined_likelihood,
    detector_scores,
    keep_new_highs,
    learned_scores,
    out_of_range_rows,
    scores_under_settings,
    unit_interval_scores,
)
from advanced_dl.nab.settings import OutOfRangeSettings, ScoringSettings

SCORING = {"average_rows": 2, "history_rows": 100, "min_history_rows": 10, "new_high_rows": 20}


def test_anomaly_likelihood_is_the_z_of_recent_scores_against_earlier_ones():
    raw = np.array([np.nan, 1.0, 3.0, 1.0, 3.0, 11.0, 2.0])
    z = anomaly_likelihood(raw, average_rows=1, history_rows=4, min_history_rows=4)
    assert np.isnan(z[:5]).all()  # fewer than 4 earlier scores
    assert z[5] == pytest.approx((11.0 - 2.0) / 1.0)
    assert z[6] == pytest.approx((2.0 - 4.5) / np.std([1.0, 3.0, 11.0, 3.0]))
    averaged = anomaly_likelihood(raw, average_rows=2, history_rows=4, min_history_rows=4)
    assert averaged[5] == pytest.approx((7.0 - 2.0) / 1.0)
    # Fitted (in-sample) rows are left out of the history.
    skipped = anomaly_likelihood(
        raw, average_rows=1, history_rows=4, min_history_rows=3, fitted_rows=2
    )
    assert np.isnan(skipped[:5]).all() and skipped[5] == pytest.approx(
        (11 - 7 / 3) / np.std([3.0, 1, 3])
    )


def test_learned_scores_use_no_later_row_and_skip_the_fitted_rows():
    rng = np.random.default_rng(0)
    raw = {"a": rng.gamma(2.0, size=300), "b": rng.gamma(3.0, size=300)}
    for combine in ("max", "mean"):
        scoring = ScoringSettings(**SCORING, combine=combine)
        scores = learned_scores(raw, scoring, fitted_rows=30)
        assert (scores[:30] == 0).all() and ((scores >= 0) & (scores < 1)).all()
        for t in (40, 150, 298):
            changed = {part: values.copy() for part, values in raw.items()}
            changed["b"][t + 1 :] = 50.0
            rescored = learned_scores(changed, scoring, fitted_rows=30)
            np.testing.assert_array_equal(rescored[: t + 1], scores[: t + 1])


def test_parts_combine_as_the_larger_z_or_their_scaled_sum():
    rng = np.random.default_rng(1)
    raw = {"a": rng.gamma(2.0, size=200), "b": rng.gamma(2.0, size=200)}
    alone = {
        part: combined_likelihood({part: values}, ScoringSettings(**SCORING, combine="max"), 0)
        for part, values in raw.items()
    }
    larger = combined_likelihood(raw, ScoringSettings(**SCORING, combine="max"), 0)
    summed = combined_likelihood(raw, ScoringSettings(**SCORING, combine="mean"), 0)
    np.testing.assert_array_equal(larger, np.fmax(alone["a"], alone["b"]))
    np.testing.assert_allclose(summed, (alone["a"] + alone["b"]) / np.sqrt(2))


def test_detector_scores_put_the_rule_above_the_learned_score():
    values = np.tile([0.0, 1.0, 2.0, 1.0], 50)
    values[150] = 5.0
    raw = {"a": np.random.default_rng(2).gamma(2.0, size=200)}
    scoring = ScoringSettings(**SCORING, combine="max")
    rule = OutOfRangeSettings(tolerance=0.0, cooldown_rows=10)
    scores = detector_scores(raw, values, 30, scoring, rule)
    assert np.flatnonzero(scores.out_of_range).tolist() == [150]
    assert scores.anomaly_scores[150] == 1 and scores.anomaly_scores.max() == 1
    np.testing.assert_array_equal(scores.learned, learned_scores(raw, scoring, 30))
    without = detector_scores(raw, values, 30, scoring, None)
    assert not without.out_of_range.any()
    np.testing.assert_array_equal(without.anomaly_scores, scores.learned)


def test_keep_new_highs_leaves_one_high_score_per_excursion():
    z = np.array([0.5, 6.0, 7.0, 5.0, 6.5, -1.0, 0.2, 0.1, 8.0])
    kept = keep_new_highs(z, rows=3)
    np.testing.assert_array_equal(kept, [0.5, 6.0, 7.0, 0.0, 0.0, -1.0, 0.0, 0.0, 8.0])
    np.testing.assert_array_equal(keep_new_highs(z, rows=0), z)


def test_unit_interval_scores_increase_with_z_even_far_in_the_tail():
    z = np.array([-40.0, -1.0, 0.0, 1.0, 5.0, 38.0, 39.0, 40.0])
    scores = unit_interval_scores(z)
    assert ((scores >= 0) & (scores < 1)).all()
    assert (np.diff(scores) > 0).all()
    assert np.isnan(unit_interval_scores(np.array([np.nan]))).all()


def test_out_of_range_rows_flag_values_beyond_every_earlier_one_once_per_excursion():
    values = np.array([5.0, 5.0, 6.0, 5.5, 6.0, 6.5, 7.0, 5.0, 4.0, 3.0, 9.0])
    # Rows 0-1 are equal: no range yet, so row 2 is not flagged. Rows 5, 6 and
    # 10 rise above every earlier value, rows 8 and 9 fall below.
    flagged = out_of_range_rows(values, tolerance=0.0, cooldown_rows=0)
    np.testing.assert_array_equal(np.flatnonzero(flagged), [5, 6, 8, 9, 10])
    # No flag within cooldown_rows = 1 row after a flag.
    cooled = out_of_range_rows(values, tolerance=0.0, cooldown_rows=1)
    np.testing.assert_array_equal(np.flatnonzero(cooled), [5, 8, 10])
    cooled = out_of_range_rows(values, tolerance=0.0, cooldown_rows=3)
    np.testing.assert_array_equal(np.flatnonzero(cooled), [5, 9])
    # With a tolerance, a value must clear the range by that fraction of it:
    # row 6 (7.0 vs 6.5 + 0.4 x 1.5) and row 9 (3.0 vs 4.0 - 0.4 x 3.0) do not.
    tolerant = out_of_range_rows(values, tolerance=0.4, cooldown_rows=0)
    np.testing.assert_array_equal(np.flatnonzero(tolerant), [5, 8, 10])
    assert not out_of_range_rows(np.full(20, 3.0), 0.0, 0).any()


def test_out_of_range_rows_use_no_later_row():
    values = np.random.default_rng(1).normal(size=200)
    flagged = out_of_range_rows(values, 0.0, 10)
    for t in (30, 120):
        changed = values.copy()
        changed[t + 1 :] = 100.0
        rescored = out_of_range_rows(changed, 0.0, 10)
        np.testing.assert_array_equal(rescored[: t + 1], flagged[: t + 1])


def test_scores_under_settings_equal_one_call_per_setting():
    rng = np.random.default_rng(3)
    raw = {"a": rng.gamma(2.0, size=250), "b": rng.gamma(2.0, size=250)}
    values = rng.normal(size=250).cumsum()
    options = [
        (ScoringSettings(**{**SCORING, "average_rows": avg}, combine=combine), rule)
        for avg in (1, 3)
        for combine in ("max", "mean")
        for rule in (None, OutOfRangeSettings(tolerance=0.0, cooldown_rows=5))
    ]
    together = scores_under_settings(raw, values, 30, options)
    for (scoring, rule), scores in zip(options, together, strict=True):
        expected = detector_scores(raw, values, 30, scoring, rule).anomaly_scores
        np.testing.assert_array_equal(scores, expected)
