"""Features, targets and raw score of the next-value network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advanced_dl.nab.next_value import (
    feature_count,
    fit_next_value_scaler,
    negative_log_likelihood,
    next_value_features,
)

ROWS, LOOK_BACK = 600, 4  # 5-minute rows: 288 a day


def _series(rows: int = ROWS):
    times = pd.date_range("2015-01-05 00:00", periods=rows, freq="5min").to_numpy()  # a Monday
    values = 10 + np.sin(np.arange(rows) * 2 * np.pi / 288) + np.arange(rows) * 0.001
    return values, times


def test_scaler_finds_the_daily_period_and_the_step():
    values, times = _series()
    scaler = fit_next_value_scaler(values, times)
    assert scaler.rows_per_day == 288
    assert scaler.step == pytest.approx(np.std(np.diff(values)))
    assert scaler.level == pytest.approx(values.mean())
    daily = pd.date_range("2015-01-01", periods=50, freq="D").to_numpy()
    assert fit_next_value_scaler(values[:50], daily).rows_per_day == 0  # one row a day
    flat = fit_next_value_scaler(np.full(20, 5.0), times[:20])
    assert flat.step > 0


def test_features_describe_each_row_from_earlier_rows_and_its_timestamp():
    values, times = _series()
    scaler = fit_next_value_scaler(values, times)
    rows = np.array([LOOK_BACK, 300])
    features, targets = next_value_features(values, times, rows, LOOK_BACK, scaler)
    assert features.shape == (2, feature_count(LOOK_BACK)) and features.dtype == np.float32
    step = scaler.step
    t = 300
    np.testing.assert_allclose(
        features[1, :LOOK_BACK], (values[t - LOOK_BACK : t] - values[t - 1]) / step, rtol=1e-5
    )
    assert targets[1] == pytest.approx((values[t] - values[t - 1]) / step, rel=1e-5)
    period = features[:, LOOK_BACK + 1 : LOOK_BACK + 4]
    assert period[0].tolist() == [0, 0, 0]  # no row a day back yet
    assert period[1, 2] == 1
    day_back = (values[t - 288] - values[t - 1]) / step
    assert period[1, 1] == pytest.approx(np.clip(day_back, -10, 10), rel=1e-5)
    # 300 rows of 5 minutes after Monday 00:00 is Tuesday 01:00.
    hour = 2 * np.pi / 24
    np.testing.assert_allclose(features[1, -4:-2], [np.sin(hour), np.cos(hour)], atol=1e-6)
    np.testing.assert_allclose(
        features[1, -2:], [np.sin(2 * np.pi / 7 * 1), np.cos(2 * np.pi / 7 * 1)], atol=1e-6
    )
    with pytest.raises(ValueError, match="look_back"):
        next_value_features(values, times, np.array([LOOK_BACK - 1]), LOOK_BACK, scaler)


def test_features_use_no_later_row():
    values, times = _series()
    scaler = fit_next_value_scaler(values[:100], times[:100])
    rows = np.arange(LOOK_BACK, ROWS)
    features, _ = next_value_features(values, times, rows, LOOK_BACK, scaler)
    for t in (50, 400):
        changed = values.copy()
        changed[t:] += np.random.default_rng(t).normal(0, 5, ROWS - t)
        again, _ = next_value_features(changed, times, rows, LOOK_BACK, scaler)
        np.testing.assert_array_equal(again[: t - LOOK_BACK + 1], features[: t - LOOK_BACK + 1])
        assert not np.array_equal(again[t - LOOK_BACK + 1 :], features[t - LOOK_BACK + 1 :])


def test_negative_log_likelihood_is_laplace():
    prediction = np.array([[0.0, 1.0], [1.0, 0.5]])
    targets = np.array([0.0, 3.0])
    expected = [np.log(2.0), 2.0 / 0.5 + np.log(1.0)]
    np.testing.assert_allclose(negative_log_likelihood(prediction, targets), expected)
