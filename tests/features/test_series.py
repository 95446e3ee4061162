"""Series preprocessing shared by the nab_anomaly pipeline and its served detector."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from advanced_dl.features.series import (
    InvalidSeriesError,
    anomaly_likelihood,
    anomaly_scores,
    causal_scores,
    fit_standard_scaler,
    flag_anomalies,
    keep_new_highs,
    last_step_scores,
    out_of_range_rows,
    scale_values,
    sliding_windows,
    unit_interval_scores,
    validate_series,
)
from advanced_dl.models.lstm_vae import build_lstm_vae

LOOK_BACK = 8


def raw_frame(n: int = 40) -> pd.DataFrame:
    """As NAB's CSV reader gives it: strings."""
    times = pd.date_range("2014-04-01", periods=n, freq="5min")
    return pd.DataFrame(
        {
            "timestamp": times.strftime("%Y-%m-%d %H:%M:%S"),
            "value": [repr(float(v)) for v in np.sin(np.arange(n) / 3)],
        }
    )


def broken(frame: pd.DataFrame, case: str) -> pd.DataFrame:
    frame = frame.copy()
    if case == "column":
        return frame.rename(columns={"value": "val"})
    if case == "timestamp":
        frame.loc[3, "timestamp"] = "yesterday-ish"
    elif case == "value":
        frame.loc[4, "value"] = "n/a"
    elif case == "missing":
        frame.loc[5, "value"] = ""
    elif case == "duplicate":
        frame.loc[6, "timestamp"] = frame.loc[5, "timestamp"]
    elif case == "unsorted":
        frame.loc[[6, 7], "timestamp"] = frame.loc[[7, 6], "timestamp"].to_numpy()
    elif case == "short":
        return frame.head(LOOK_BACK - 1)
    return frame


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("column", r"missing column\(s\) \['value'\]"),
        ("timestamp", "unparseable, first at row 3"),
        ("value", "non-numeric, first at row 4"),
        ("missing", "missing or non-numeric, first at row 5"),
        ("duplicate", "duplicated timestamp"),
        ("unsorted", "not in increasing order at row 7"),
        ("short", "shorter than one window"),
    ],
)
def test_bad_series_are_refused_naming_the_source(case, message):
    with pytest.raises(InvalidSeriesError, match=message) as error:
        validate_series(broken(raw_frame(), case), "some/file.csv", min_rows=LOOK_BACK)
    assert str(error.value).startswith("some/file.csv: ")


@pytest.mark.parametrize("case", ["duplicate", "unsorted"])
def test_repeated_or_backward_timestamps_can_be_accepted_in_file_order(case):
    frame = broken(raw_frame(), case)
    series = validate_series(frame, "x", accept_unordered=True)
    assert len(series) == len(frame)
    np.testing.assert_array_equal(series["timestamp"], pd.to_datetime(frame["timestamp"]))


def test_nab_series_with_repeated_timestamps_load_when_accepted(mirror):
    # 12 duplicates from row 10149, and the timestamps go back once (NAB's own file).
    path = mirror / "nab/data/realKnownCause/machine_temperature_system_failure.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    with pytest.raises(InvalidSeriesError, match="duplicated timestamp 2014-01-07 02:00:00"):
        validate_series(frame, str(path))
    series = validate_series(frame, str(path), accept_unordered=True)
    assert len(series) == len(frame) and series["timestamp"].duplicated().sum() == 12


def test_validation_types_the_series_and_leaves_the_raw_frame_alone():
    frame = raw_frame()
    before = frame.copy()
    series = validate_series(frame, "x", min_rows=1)
    pd.testing.assert_frame_equal(frame, before)
    assert series["timestamp"].dtype.kind == "M" and series["value"].dtype == "float64"


def test_scaling_and_windows():
    scaled = scale_values(np.array([1.0, 3.0, 5.0]), {"mean": 3.0, "scale": 2.0})
    np.testing.assert_array_equal(scaled, np.array([-1.0, 0.0, 1.0], dtype="float32"))
    assert scaled.dtype == np.float32
    windows = sliding_windows(np.arange(10, dtype="float32"), 4)
    assert windows.shape == (7, 4, 1)  # the last window (rows 6..9) is kept
    np.testing.assert_array_equal(windows[-1, :, 0], [6, 7, 8, 9])


def test_last_step_scores_and_flags():
    log_likelihood = np.array([[0.0, -1.0], [0.0, -3.0]])
    np.testing.assert_array_equal(last_step_scores(log_likelihood), [1.0, 3.0])
    flags = flag_anomalies(np.array([np.nan, 1.0, 2.0, 3.0]), threshold=2.0)
    np.testing.assert_array_equal(flags, [False, False, True, True])


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_lstm_vae(look_back=LOOK_BACK, intermediate_dim=4)


def test_causal_scores_use_no_later_row(model):
    values = np.sin(np.arange(60) / 4).astype("float32")
    scores = causal_scores(model, values, LOOK_BACK)
    assert np.isnan(scores[: LOOK_BACK - 1]).all() and np.isfinite(scores[LOOK_BACK - 1 :]).all()
    # Row t's score is the last step of the window ending at t.
    window = values[20 - LOOK_BACK + 1 : 21][None, :, None]
    assert scores[20] == pytest.approx(-float(model.predict(window, verbose=0)[0, -1]), rel=1e-5)
    changed = values.copy()
    changed[40:] += 5.0
    np.testing.assert_allclose(causal_scores(model, changed, LOOK_BACK)[:40], scores[:40])
    assert not np.allclose(causal_scores(model, changed, LOOK_BACK)[40:], scores[40:])
    assert np.isnan(causal_scores(model, values[:5], LOOK_BACK)).all()


def test_standard_scaler_uses_the_population_deviation_and_one_for_a_flat_series():
    assert fit_standard_scaler(np.array([1.0, 3.0])) == {"mean": 2.0, "scale": 1.0}
    assert fit_standard_scaler(np.full(5, 7.0)) == {"mean": 7.0, "scale": 1.0}


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


def test_anomaly_scores_use_no_later_row():
    raw = np.random.default_rng(0).gamma(2.0, size=300)
    scores = anomaly_scores(raw, 2, 100, 10, 20, fitted_rows=30)
    for t in (40, 150, 298):
        changed = raw.copy()
        changed[t + 1 :] = 50.0
        rescored = anomaly_scores(changed, 2, 100, 10, 20, fitted_rows=30)
        np.testing.assert_array_equal(rescored[: t + 1], scores[: t + 1])


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
