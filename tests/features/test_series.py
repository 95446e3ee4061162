"""Series preprocessing shared by the nab_anomaly pipeline and its served detector."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from advanced_dl.features.series import (
    InvalidSeriesError,
    causal_scores,
    fit_standard_scaler,
    flag_anomalies,
    last_step_scores,
    scale_values,
    sliding_windows,
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


def test_booleans_and_numbers_as_timestamps_are_refused():
    # Over HTTP a served detector gets JSON types as sent: true must not become 1.0,
    # nor 5 a date-time 5 ns after 1970.
    times = ["2014-04-01 00:00:00", "2014-04-01 00:05:00"]
    with pytest.raises(
        InvalidSeriesError, match=r"value\(s\) missing or non-numeric, first at row 1"
    ):
        validate_series(pd.DataFrame({"timestamp": times, "value": [1.0, True]}), "request")
    with pytest.raises(InvalidSeriesError, match=r"timestamp\(s\) missing or unparseable"):
        validate_series(pd.DataFrame({"timestamp": [5, 6], "value": [1.0, 2.0]}), "request")
    typed = validate_series(pd.DataFrame({"timestamp": times, "value": ["1.5", 2]}), "nab")
    assert typed["value"].tolist() == [1.5, 2.0]  # NAB's files are read as text
