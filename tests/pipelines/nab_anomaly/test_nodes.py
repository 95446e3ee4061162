"""Nodes of nab_anomaly on tiny synthetic series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advanced_dl.features.series import InvalidSeriesError
from advanced_dl.io.nab import UnknownSeriesError, read_local_series
from advanced_dl.nab.detector import split_windows
from advanced_dl.pipelines.nab_anomaly import figures, nodes
from advanced_dl.plotting import plot_training_history

LOOK_BACK = 8
TRAIN = "artificialNoAnomaly/square.csv"
TEST = "artificialWithAnomaly/square_jump.csv"
START = pd.Timestamp("2014-04-01 00:00:00")
NAB_EXPERIMENT = {"path": None, "train_rows": 1000}  # own_series unset


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
        "accept_unordered_timestamps": False,
        "own_series_reader": read_local_series,
        "own_series": NAB_EXPERIMENT,
    }
    return nodes.load_series(**{**args, **overrides})


def test_load_series_slices_and_types(series, labels):
    train, test = load(series, labels)
    assert len(train) == 100 and len(test) == 200
    assert list(train.columns) == ["timestamp", "value"]
    assert train["timestamp"].dtype.kind == "M" and train["value"].dtype == "float64"


def test_misnamed_series_lists_close_matches(series, labels):
    with pytest.raises(UnknownSeriesError, match=r"close matches.*square_jump") as error:
        load(series, labels, test_series="artificialWithAnomaly/square_jmp.csv")
    assert "nab_anomaly.test_series" in str(error.value)
    with pytest.raises(UnknownSeriesError, match=r"realKnownCause/nyc_taxi\.csv"):
        load(series, labels, train_series="nyc_taxi.csv")


def test_training_slice_beyond_the_series_is_named(series, labels):
    with pytest.raises(ValueError, match=r"nab_anomaly\.train_last_row.*has 120 rows"):
        load(series, labels, train_last_row=500)


def test_a_bad_series_stops_before_training_naming_its_file(series, labels):
    frame = series[TEST]()
    frame.loc[4, "value"] = "n/a"
    with pytest.raises(InvalidSeriesError, match="non-numeric, first at row 4") as error:
        load({**series, TEST: lambda: frame}, labels)
    assert f"nab/data/{TEST}" in str(error.value)


def test_repeated_timestamps_are_refused_unless_accepted(series, labels, windows):
    frame = series[TEST]()
    frame.loc[151, "timestamp"] = frame.loc[150, "timestamp"]  # as in a few NAB series
    repeated = {**series, TEST: lambda: frame}
    with pytest.raises(InvalidSeriesError, match=r"duplicated timestamp .* at row 151"):
        load(repeated, labels)
    _, test = load(repeated, labels, accept_unordered_timestamps=True)
    assert len(test) == 200  # every row kept, in file order
    labelled = nodes.attach_labels(test, labels, windows, TEST, NAB_EXPERIMENT)
    assert labelled["label"].iloc[[150, 151]].tolist() == [1, 1]  # both rows at the label
    assert nodes.window_rows(labelled) == [(140, 160)]


def test_attach_labels(series, labels, windows):
    _, test = load(series, labels)
    labelled = nodes.attach_labels(test, labels, windows, TEST, NAB_EXPERIMENT)
    assert labelled["label"].sum() == 1 and labelled["label"].iloc[150] == 1
    assert nodes.window_rows(labelled) == [(140, 160)]


def test_attach_labels_needs_an_entry(series, labels, windows):
    _, test = load(series, labels)
    with pytest.raises(ValueError, match=r"combined_windows\.json has no entry"):
        nodes.attach_labels(test, labels, {}, TEST, NAB_EXPERIMENT)


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
    fit, validation = split_windows(windows, 0.1, seed=42)
    assert len(validation) == 9 and len(fit) + len(validation) == len(windows)
    again, _ = split_windows(windows, 0.1, seed=42)
    np.testing.assert_array_equal(fit, again)


def test_choose_threshold():
    scores = np.arange(101, dtype=float)  # Q1 = 25, Q3 = 75
    assert nodes.choose_threshold(scores, {"quantile": 0.75, "iqr_multiplier": 3.0}) == 225.0
    assert nodes.choose_threshold(scores, {"quantile": 0.99, "iqr_multiplier": 0.0}) == 99.0
    with pytest.raises(ValueError, match="non-empty array of finite numbers"):
        nodes.choose_threshold(np.array([1.0, np.nan]), {"quantile": 0.5, "iqr_multiplier": 0.0})


def test_detect_and_evaluate(series, labels, windows):
    _, test = load(series, labels)
    labelled = nodes.attach_labels(test, labels, windows, TEST, NAB_EXPERIMENT)
    scores = np.full(200, 0.0)
    scores[: LOOK_BACK - 1] = np.nan
    scores[[10, 150, 151, 190]] = 5.0  # row 10 is probationary (first 30 rows)
    detections = nodes.detect_anomalies(labelled, scores, threshold=5.0)
    assert detections["is_anomaly"].sum() == 4
    assert not detections["is_anomaly"].iloc[: LOOK_BACK - 1].any()
    metrics = nodes.evaluate_detections(detections, 5.0, NAB_EXPERIMENT)
    assert metrics["windows_total"] == 1 and metrics["windows_detected"] == 1
    assert metrics["false_positive_detections"] == 1  # row 190; row 10 is probationary
    assert metrics["first_detection_delay_rows"] == 0
    assert metrics["test_recall"] == 1.0 and metrics["test_precision"] == 0.25
    assert metrics["threshold"] == 5.0
    assert 0 < metrics["nab_score_standard"] < 100
    assert metrics["nab_score_reward_low_fp"] < metrics["nab_score_standard"]


def test_missed_window_delay_is_censored(series, labels, windows):
    _, test = load(series, labels)
    labelled = nodes.attach_labels(test, labels, windows, TEST, NAB_EXPERIMENT)
    detections = nodes.detect_anomalies(labelled, np.zeros(200), threshold=1.0)
    metrics = nodes.evaluate_detections(detections, 1.0, NAB_EXPERIMENT)
    assert metrics["windows_detected"] == 0
    assert metrics["first_detection_delay_rows"] == 160 - 150 + 1
    assert metrics["nab_score_standard"] == 0.0


def test_one_epoch_model_on_square_wave_with_jump(series, labels, windows):
    """Square wave with one injected jump: train one epoch, score, threshold, serve."""
    train, test = load(series, labels)
    labelled = nodes.attach_labels(test, labels, windows, TEST, NAB_EXPERIMENT)
    scaler = nodes.fit_scaler(train)
    train_scaled, test_scaled = nodes.scale_series(train, test, scaler)
    fit, validation = split_windows(nodes.make_windows(train_scaled, LOOK_BACK), 0.1, 42)
    model_params = {
        "intermediate_dim": 4,
        "latent_dim": 2,
        "scale_floor": 1e-3,
        "softplus_log_variance": False,
        "sample_at_inference": False,
    }
    training_params = {
        "batch_size": 32,
        "validation_fraction": 0.1,
        "epochs": 1,
        "learning_rate": 1e-3,
        "hold_epochs": 4,
        "decay_rate": 0.1,
        "distribution": "none",
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
    metrics = nodes.evaluate_detections(detections, threshold, NAB_EXPERIMENT)
    assert all(np.isfinite(v) for v in metrics.values())
    assert [a.get_ylabel() for a in plot_training_history(history).axes] == [
        "loss",
        "learning rate",
    ]
    detections_axis = figures.plot_detections(detections, TEST, NAB_EXPERIMENT).axes[0]
    assert detections_axis.get_title() == f"{TEST}: detections"
    flagged = int(detections["is_anomaly"].sum())
    assert f"detection ({flagged} rows)" in detections_axis.get_legend_handles_labels()[1]
    score_axis = figures.plot_anomaly_score(detections, threshold).axes[0]
    assert score_axis.lines[1].get_ydata()[0] == pytest.approx(threshold)  # the threshold line

    # Causality: changing a later row leaves earlier rows' scores unchanged.
    changed = test_scaled.copy()
    changed[160:] += 5.0
    np.testing.assert_allclose(
        nodes.score_test_rows(model, changed, LOOK_BACK)[:160], scores[:160], rtol=1e-5
    )

    served = nodes.build_served_model(model, scaler, LOOK_BACK, threshold, test, False)
    assert served.look_back == LOOK_BACK and served.threshold == threshold
    assert served.scaler == scaler
    assert len(served.input_example) == LOOK_BACK + 1


def test_own_series_trains_on_its_first_rows_and_scores_the_rest(series, labels, windows, tmp_path):
    path = tmp_path / "my_series.csv"
    series[TEST]().to_csv(path, index=False)
    own = {"path": str(path), "train_rows": 120}
    train, test = load(series, labels, own_series=own, train_series="unused", test_series="unused")
    assert len(train) == 120 and len(test) == 80
    assert (
        train["value"].tolist() + test["value"].tolist()
        == load(series, labels)[1]["value"].tolist()
    )
    labelled = nodes.attach_labels(test, labels, windows, "unused", own)
    assert (labelled["label"] == 0).all() and (labelled["window"] == -1).all()
    scores = np.linspace(0.0, 1.0, len(test))
    detections = nodes.detect_anomalies(labelled, scores, 0.5)
    assert nodes.evaluate_detections(detections, 0.5, own) == {
        "rows_scored": 80.0,
        "detections": float((scores >= 0.5).sum()),
        "threshold": 0.5,
    }
    title = figures.plot_detections(detections, "unused", own).axes[0].get_title()
    assert str(path) in title


def test_own_series_errors_name_the_parameter(series, labels, tmp_path):
    missing = {"path": str(tmp_path / "nope.csv"), "train_rows": 120}
    with pytest.raises(FileNotFoundError, match=r"nab_anomaly\.own_series\.path.*nope\.csv"):
        load(series, labels, own_series=missing)
    path = tmp_path / "short.csv"
    series[TEST]().head(100).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"own_series\.train_rows' is 120, but .* has 100 rows"):
        load(series, labels, own_series={"path": str(path), "train_rows": 120})
