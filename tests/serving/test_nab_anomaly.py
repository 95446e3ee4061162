"""The served NAB detector gives exactly the pipeline's scores and flags on the same rows."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from advanced_dl.features import InvalidInputError
from advanced_dl.features.series import validate_series
from advanced_dl.models.lstm_vae import build_lstm_vae
from advanced_dl.pipelines.nab_anomaly import nodes

LOOK_BACK = 8


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    values = np.where((np.arange(120) // 8) % 2 == 0, 20.0, 80.0)
    values[90] = 200.0
    times = pd.date_range("2014-04-01", periods=len(values), freq="5min")
    return pd.DataFrame({"timestamp": times.strftime("%Y-%m-%d %H:%M:%S"), "value": values})


def test_served_detector_matches_the_pipeline(raw):
    keras.utils.set_random_seed(0)
    model = build_lstm_vae(look_back=LOOK_BACK, intermediate_dim=4)
    train, test = validate_series(raw.iloc[:60], "train"), validate_series(raw, "test")
    scaler = nodes.fit_scaler(train)
    _, test_scaled = nodes.scale_series(train, test, scaler)
    scores = nodes.score_test_rows(model, test_scaled, LOOK_BACK)
    threshold = float(np.nanquantile(scores, 0.9))
    labelled = test.assign(label=0, window=-1)
    detections = nodes.detect_anomalies(labelled, scores, threshold)

    served = nodes.build_served_model(model, scaler, LOOK_BACK, threshold, test, False)
    output = served.predict(None, raw)
    assert list(output.columns) == ["timestamp", "anomaly_score", "is_anomaly"]
    np.testing.assert_array_equal(output["anomaly_score"].to_numpy(), scores)
    np.testing.assert_array_equal(output["is_anomaly"].to_numpy(), detections["is_anomaly"])
    assert output["is_anomaly"].any() and not output["is_anomaly"].all()

    with pytest.raises(InvalidInputError, match=r"model input: missing column\(s\) \['value'\]"):
        served.predict(None, raw.drop(columns="value"))
    repeated = raw.copy()
    repeated.loc[50, "timestamp"] = repeated.loc[49, "timestamp"]
    with pytest.raises(InvalidInputError, match="duplicated timestamp"):
        served.predict(None, repeated)
    tolerant = nodes.build_served_model(model, scaler, LOOK_BACK, threshold, test, True)
    assert len(tolerant.predict(None, repeated)) == len(repeated)


# The corpus detector on a user's own series: what the run scores is what the model serves.

OWN_SERIES = {"path": "own.csv", "train_rows": 200, "threshold": None}


@pytest.fixture(scope="module")
def corpus_detector_run():
    """The run's corpus-detector nodes on a 400-row series with a spike at row 300."""
    from tests.pipelines.nab_benchmark.corpus import raw_frame, series_values, tiny_parameters

    raw = raw_frame(series_values("artificialWithAnomaly/spike.csv")).astype({"value": float})
    series = validate_series(raw, "own.csv")
    train, test = series.iloc[:200].reset_index(drop=True), series.iloc[200:].reset_index(drop=True)
    labelled = nodes.attach_labels(test, {}, {}, "unused", OWN_SERIES)
    fitted_rows, scored_rows = nodes.split_corpus_detector_rows(train, labelled, OWN_SERIES)
    detector = nodes.fit_corpus_detector(fitted_rows, tiny_parameters()["detector"], seed=3)
    detections, threshold = nodes.score_corpus_detector_rows(
        detector, fitted_rows, scored_rows, OWN_SERIES
    )
    served = nodes.build_corpus_detector_served_model(
        detector, fitted_rows, scored_rows, threshold, False
    )
    return raw, detections, threshold, served


def test_served_corpus_detector_scores_as_the_run(corpus_detector_run, tracking):
    import mlflow

    from advanced_dl.io import KerasPyfuncModelDataset

    raw, detections, threshold, served = corpus_detector_run
    assert detections["anomaly_score"].iloc[:200].isna().all()  # the fitted rows
    scored = detections.iloc[200:]
    assert scored["anomaly_score"].between(0.0, 1.0).all()
    assert scored["is_anomaly"].iloc[95:105].any()  # the spike at row 300
    assert nodes.choose_served_model("lstm_vae", served, OWN_SERIES) is served
    assert nodes.choose_served_model("lstm_vae", served, {**OWN_SERIES, "path": None}) == "lstm_vae"

    KerasPyfuncModelDataset(name="model").save(served)
    reloaded = mlflow.pyfunc.load_model(f"runs:/{tracking.info.run_id}/model")
    request = raw.iloc[200:].reset_index(drop=True)
    output = reloaded.predict(request)
    np.testing.assert_array_equal(output["anomaly_score"], scored["anomaly_score"])
    np.testing.assert_array_equal(output["is_anomaly"], scored["is_anomaly"])
    # Causal: a request of the first rows only scores them as the whole request did.
    head = reloaded.predict(request.head(120))
    np.testing.assert_array_equal(head["anomaly_score"], scored["anomaly_score"].iloc[:120])
    # A threshold passed with the request replaces the series' one.
    loose = reloaded.predict(request, params={"threshold": 0.3})
    np.testing.assert_array_equal(loose["is_anomaly"], scored["anomaly_score"] >= 0.3)
    assert loose["is_anomaly"].sum() > scored["is_anomaly"].sum() and threshold > 0.3

    with pytest.raises(Exception, match="continue the series after the rows the detector"):
        reloaded.predict(raw.iloc[150:260])
    with pytest.raises(InvalidInputError, match=r"params\.threshold: expected a number in \[0, 1"):
        served.predict(None, request, params={"threshold": 2.0})


def test_own_threshold_replaces_the_label_free_one(corpus_detector_run):
    _, detections, threshold, served = corpus_detector_run
    own = {**OWN_SERIES, "threshold": 0.99}
    fitted_rows = detections.iloc[:200][["timestamp", "value", "label", "window"]]
    scored_rows = detections.iloc[200:][["timestamp", "value", "label", "window"]]
    _, chosen = nodes.score_corpus_detector_rows(
        served.fitted, fitted_rows.reset_index(drop=True), scored_rows.reset_index(drop=True), own
    )
    assert chosen == 0.99 != threshold
