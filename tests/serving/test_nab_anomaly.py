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
