"""A served model over HTTP (``mlflow models serve``, loopback) refuses what Python refuses,
with the project's own message at the top of the answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import keras
import mlflow
import pandas as pd
import pytest

from advanced_dl.io import KerasPyfuncModelDataset
from advanced_dl.models.mdn import build_mdn
from advanced_dl.serving.mdn_synthetic import MdnServingModel
from tests.tracking_server import _wait_for, free_port


def _post(url: str, rows: str) -> tuple[int, dict]:
    body = '{"dataframe_split": {"columns": ["x1", "x2"], "data": ' + rows + "}}"
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
def test_served_model_refuses_over_http_what_python_refuses(tracking, tmp_path):
    keras.utils.set_random_seed(0)
    rows = pd.DataFrame({"x1": [0.5, -1.0], "x2": [1.0, 0.0]})
    KerasPyfuncModelDataset(name="model").save(
        MdnServingModel(build_mdn(num_components=2, hidden_units=4), rows, 2)
    )
    uri = f"runs:/{tracking.info.run_id}/model"
    local = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "model"))
    in_python = mlflow.pyfunc.load_model(uri)

    port = free_port()
    log = tmp_path / "serve.log"
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    serve = ["models", "serve", "-m", local, "--env-manager", "local"]
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(mlflow_cli), *serve, "--host", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri()},
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}/ping", server, 120, log)
        url = f"http://127.0.0.1:{port}/invocations"

        status, answer = _post(url, "[[0.5, 1.0], [-1.0, 0.0]]")
        assert status == 200
        expected = in_python.predict(rows)
        assert pd.DataFrame(answer["predictions"])["predicted_component"].tolist() == (
            expected["predicted_component"].tolist()
        )

        # JSON as sent -> the same table in Python (1e400 and NaN are what json reads them as).
        refused = {
            "[[true, 1.0]]": pd.DataFrame({"x1": [True], "x2": [1.0]}),
            '[["1.5", 1.0]]': pd.DataFrame({"x1": ["1.5"], "x2": [1.0]}),
            "[[NaN, 1.0]]": pd.DataFrame({"x1": [float("nan")], "x2": [1.0]}),
            "[[1e400, 1.0]]": pd.DataFrame({"x1": [float("inf")], "x2": [1.0]}),
        }
        for sent, frame in refused.items():
            with pytest.raises(mlflow.exceptions.MlflowException) as in_process:
                in_python.predict(frame)
            status, answer = _post(url, sent)
            assert status == 400, (sent, answer)
            assert answer["message"] == in_process.value.message, sent
            assert answer["message"].startswith(("Column 'x1' must hold numbers", "Input values"))
    finally:
        server.terminate()
        server.wait(timeout=30)
