"""Nodes of nab_anomaly on tiny synthetic series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from advanced_dl.io.nab import LazyNabSeries, UnknownSeriesError
from advanced_dl.pipelines.nab_anomaly import nodes
from advanced_dl.serving.nab_anomaly import InvalidSeriesError, validate_series

LOOK_BACK = 8
TRAIN = "artificialNoAnomaly/square.csv"
TEST = "artificialWithAnomaly/square_jump.csv"
START = pd.Timestamp("2014-04-01 00:00:00")


def square_wave(n: int, period: int = 16) -> np.ndarray:
    return np.where((np.arange(n) // (period // 2)) % 2 == 0, 20.0, 80.0)


def raw_frame(values: np.ndarray) -> pd.DataFrame:
    """As the NAB CSV reader gives it: strings."""
    times = pd.date_range(START, periods=len(values), freq="5min")
    return pd.DataFrame(
        {
            "timestamp": times.strftime("%Y-%m-%d %H:%M:%S"),
            "value": [repr(float(v)) for v in values],
        }
    )


@pytest.fixture
def jump_test_values() -> np.ndarray:
    values = square_wave(200)
    values[150] = 200.0  # the injected jump
    return values


@pytest.fixture
def labels() -> dict:
    return {
        TRAIN: [],
        TEST: [str(START + 150 * pd.Timedelta("5min"))],
        "realKnownCause/nyc_taxi.csv": [],
    }


@pytest.fixture
def windows() -> dict:
    left, right = START + 140 * pd.Timedelta("5min"), START + 160 * pd.Timedelta("5min")
    return {
        TRAIN: [],
        TEST: [[f"{left}.000000", f"{right}.000000"]],
        "realKnownCause/nyc_taxi.csv": [],
    }


@pytest.fixture
def series(jump_test_values) -> dict:
    frames = {TRAIN: raw_frame(square_wave(120)), TEST: raw_frame(jump_test_values)}
    return {name: (lambda frame=frame: frame.copy()) for name, frame in frames.items()}


def load(series, labels, **overrides):
    args = {
        "series": series,
        "labels": labels,
        "train_series": TRAIN,
        "test_series": TEST,
        "train_first_row": 0,
        "train_last_row": 99,
        "look_back": LOOK_BACK,
    }
    return nodes.load_series(**{**args, **overrides})


def test_load_series_slices_and_types(series, labels):
    train, test = load(series, labels)
    assert len(train) == 100 and len(test) == 200
    assert list(train.columns) == ["timestamp", "value"]
    assert train["timestamp"].dtype.kind == "M" and train["value"].dtype == "float64"


def test_misnamed_series_lists_close_matches(series, labels):
    with pytest.raises(UnknownSeriesError, match="close matches.*square_jump") as error:
        load(series, labels, test_series="artificialWithAnomaly/square_jmp.csv")
    assert "nab_anomaly.test_series" in str(error.value)
    with pytest.raises(UnknownSeriesError, match="realKnownCause/nyc_taxi.csv"):
        load(series, labels, train_series="nyc_taxi.csv")


def test_lazy_mapping_lists_close_matches():
    mapping = LazyNabSeries([TRAIN, TEST], fetch_series=lambda name: None)
    assert len(mapping) == 2 and set(mapping) == {TRAIN, TEST}
    with pytest.raises(UnknownSeriesError, match="square.csv"):
        mapping["artificialNoAnomaly/squar.csv"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"train_last_row": 500}, "train_last_row.*has 120 rows"),
        ({"train_last_row": 5}, "at least look_back"),
        ({"train_first_row": -1}, "train_first_row"),
        ({"look_back": 1}, "look_back"),
    ],
)
def test_bad_parameters(series, labels, bad, message):
    with pytest.raises(ValueError, match=message):
        load(series, labels, **bad)


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
def test_bad_series_stop_before_training(series, labels, case, message):
    frame = broken(series[TEST](), case)
    bad_series = {**series, TEST: lambda: frame}
    with pytest.raises(InvalidSeriesError, match=message) as error:
        load(bad_series, labels)
    assert f"nab/data/{TEST}" in str(error.value)


def test_raw_frame_is_not_modified(series):
    frame = series[TEST]()
    before = frame.copy()
    validate_series(frame, "x", min_rows=1)
    pd.testing.assert_frame_equal(frame, before)


def test_attach_labels(series, labels, windows):
    _, test = load(series, labels)
    labelled = nodes.attach_labels(test, labels, windows, TEST)
    assert labelled["label"].sum() == 1 and labelled["label"].iloc[150] == 1
    assert nodes.window_rows(labelled) == [(140, 160)]


def test_attach_labels_needs_an_entry(series, labels, windows):
    _, test = load(series, labels)
    with pytest.raises(ValueError, match="combined_windows.json has no entry"):
        nodes.attach_labels(test, labels, {}, TEST)


def test_scaler_windows_and_split(series, labels):
    train, test = load(series, labels)
    scaler = nodes.fit_scaler(train)
    # 52 rows at 20 and 48 at 80; population standard deviation
    assert scaler == pytest.approx({"mean": 48.8, "scale": np.std([20.0] * 52 + [80.0] * 48)})
    train_scaled, test_scaled = nodes.scale_series(train, test, scaler)
    assert train_scaled.shape == (100,) and test_scaled.shape == (200,)
    windows = nodes.make_windows(train_scaled, LOOK_BACK)
    assert windows.shape == (100 - LOOK_BACK + 1, LOOK_BACK, 1)  # the last window is kept
    np.testing.assert_array_equal(windows[-1, :, 0], train_scaled[-LOOK_BACK:])
    fit, validation = nodes.split_windows(windows, 0.1, seed=42)
    assert len(validation) == 9 and len(fit) + len(validation) == len(windows)
    again, _ = nodes.split_windows(windows, 0.1, seed=42)
    np.testing.assert_array_equal(fit, again)


def test_choose_threshold():
    scores = np.arange(101, dtype=float)  # Q1 = 25, Q3 = 75
    assert nodes.choose_threshold(scores, {"quantile": 0.75, "iqr_multiplier": 3.0}) == 225.0
    assert nodes.choose_threshold(scores, {"quantile": 0.99, "iqr_multiplier": 0.0}) == 99.0
    with pytest.raises(ValueError, match="threshold.quantile"):
        nodes.choose_threshold(scores, {"quantile": 1.5, "iqr_multiplier": 0.0})


def test_detect_and_evaluate(series, labels, windows):
    _, test = load(series, labels)
    labelled = nodes.attach_labels(test, labels, windows, TEST)
    scores = np.full(200, 0.0)
    scores[: LOOK_BACK - 1] = np.nan
    scores[[10, 150, 151, 190]] = 5.0  # row 10 is probationary (first 30 rows)
    detections = nodes.detect_anomalies(labelled, scores, threshold=5.0)
    assert detections["is_anomaly"].sum() == 4
    assert not detections["is_anomaly"].iloc[: LOOK_BACK - 1].any()
    metrics = nodes.evaluate_detections(detections, 5.0, {"fit_seconds": 1.5})
    assert metrics["windows_total"] == 1 and metrics["windows_detected"] == 1
    assert metrics["false_positive_detections"] == 1  # row 190; row 10 is probationary
    assert metrics["first_detection_delay_rows"] == 0
    assert metrics["test_recall"] == 1.0 and metrics["test_precision"] == 0.25
    assert metrics["fit_seconds"] == 1.5 and metrics["threshold"] == 5.0
    assert 0 < metrics["nab_score_standard"] < 100
    assert metrics["nab_score_reward_low_fp"] < metrics["nab_score_standard"]


def test_missed_window_delay_is_censored(series, labels, windows):
    _, test = load(series, labels)
    labelled = nodes.attach_labels(test, labels, windows, TEST)
    detections = nodes.detect_anomalies(labelled, np.zeros(200), threshold=1.0)
    metrics = nodes.evaluate_detections(detections, 1.0, {"fit_seconds": 0.0})
    assert metrics["windows_detected"] == 0
    assert metrics["first_detection_delay_rows"] == 160 - 150 + 1
    assert metrics["nab_score_standard"] == 0.0


def test_one_epoch_model_on_square_wave_with_jump(series, labels, windows):
    """Square wave with one injected jump: train one epoch, score, threshold, serve."""
    train, test = load(series, labels)
    labelled = nodes.attach_labels(test, labels, windows, TEST)
    scaler = nodes.fit_scaler(train)
    train_scaled, test_scaled = nodes.scale_series(train, test, scaler)
    fit, validation = nodes.split_windows(nodes.make_windows(train_scaled, LOOK_BACK), 0.1, 42)
    model_params = {
        "intermediate_dim": 4,
        "latent_dim": 2,
        "scale_floor": 1e-3,
        "softplus_log_variance": False,
        "sample_at_inference": False,
    }
    training_params = {
        "batch_size": 32,
        "epochs": 1,
        "learning_rate": 1e-3,
        "hold_epochs": 4,
        "decay_rate": 0.1,
    }
    model, history = nodes.train_lstm_vae(fit, validation, model_params, training_params)
    assert len(history["loss"]) == 1 and history["fit_seconds"] > 0
    validation_scores = nodes.score_validation_windows(model, validation)
    assert validation_scores.shape == (len(validation),)
    scores = nodes.score_test_rows(model, test_scaled, LOOK_BACK)
    assert scores.shape == (200,)
    assert np.isnan(scores[: LOOK_BACK - 1]).all() and np.isfinite(scores[LOOK_BACK - 1 :]).all()
    threshold = nodes.choose_threshold(validation_scores, {"quantile": 0.75, "iqr_multiplier": 3})
    detections = nodes.detect_anomalies(labelled, scores, threshold)
    metrics = nodes.evaluate_detections(detections, threshold, history)
    assert all(np.isfinite(v) for v in metrics.values())
    for figure in (
        nodes.plot_loss(history),
        nodes.plot_detections(detections, TEST),
        nodes.plot_anomaly_score(detections, threshold),
    ):
        assert isinstance(figure, Figure)

    # Causality: changing a later row leaves earlier rows' scores unchanged.
    changed = test_scaled.copy()
    changed[160:] += 5.0
    np.testing.assert_allclose(
        nodes.score_test_rows(model, changed, LOOK_BACK)[:160], scores[:160], rtol=1e-5
    )

    served = nodes.build_served_model(model, scaler, LOOK_BACK, threshold, test)
    output = served.predict(None, series[TEST]())
    assert list(output.columns) == ["timestamp", "anomaly_score", "is_anomaly"]
    np.testing.assert_allclose(output["anomaly_score"], scores, rtol=1e-5)
    np.testing.assert_array_equal(output["is_anomaly"], detections["is_anomaly"])


def test_bad_model_parameters_stop_before_training():
    windows = np.zeros((4, LOOK_BACK, 1), "float32")
    model_params = {
        "intermediate_dim": 0,
        "latent_dim": 2,
        "scale_floor": 1e-3,
        "softplus_log_variance": False,
        "sample_at_inference": False,
    }
    training = {
        "batch_size": 2,
        "epochs": 1,
        "learning_rate": 1e-3,
        "hold_epochs": 4,
        "decay_rate": 0.1,
    }
    with pytest.raises(ValueError, match="nab_anomaly.model.intermediate_dim"):
        nodes.train_lstm_vae(windows, windows, model_params, training)
    with pytest.raises(ValueError, match="nab_anomaly.training.epochs"):
        nodes.train_lstm_vae(
            windows, windows, {**model_params, "intermediate_dim": 2}, {**training, "epochs": 0}
        )
