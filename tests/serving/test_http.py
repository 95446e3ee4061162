"""A served model over HTTP (``mlflow models serve``, loopback) refuses what Python refuses,
with the project's own message at the top of the answer."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import keras
import mlflow
import pandas as pd
import pytest

from advanced_dl.io import KerasPyfuncModelDataset
from advanced_dl.models.mdn import build_mdn
from advanced_dl.serving.mdn_synthetic import MdnServingModel
from tests.serving.graphs import path_graph
from tests.tracking_server import _wait_for, free_port


def _post(url: str, columns: list[str], rows: str) -> tuple[int, dict]:
    body = f'{{"dataframe_split": {{"columns": {json.dumps(columns)}, "data": {rows}}}}}'
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextlib.contextmanager
def _served(uri: str, tmp_path: Path) -> Iterator[str]:
    """``mlflow models serve`` of the logged model on loopback; yields its invocations URL."""
    local = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "model"))
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
        yield f"http://127.0.0.1:{port}/invocations"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _refuses_as_python(url: str, in_python, columns: list[str], refused: dict) -> None:
    """Each JSON body (as sent) gets 400 with the message Python raises for its table."""
    for sent, frame in refused.items():
        with pytest.raises(mlflow.exceptions.MlflowException) as in_process:
            in_python.predict(frame)
        status, answer = _post(url, columns, sent)
        assert status == 400, (sent, answer)
        assert answer["message"] == in_process.value.message, sent


@pytest.mark.slow
def test_served_model_refuses_over_http_what_python_refuses(tracking, tmp_path):
    keras.utils.set_random_seed(0)
    rows = pd.DataFrame({"x1": [0.5, -1.0], "x2": [1.0, 0.0]})
    KerasPyfuncModelDataset(name="model").save(
        MdnServingModel(build_mdn(num_components=2, hidden_units=4), rows, 2)
    )
    uri = f"runs:/{tracking.info.run_id}/model"
    in_python = mlflow.pyfunc.load_model(uri)
    with _served(uri, tmp_path) as url:
        status, answer = _post(url, ["x1", "x2"], "[[0.5, 1.0], [-1.0, 0.0]]")
        assert status == 200
        expected = in_python.predict(rows)
        assert pd.DataFrame(answer["predictions"])["predicted_component"].tolist() == (
            expected["predicted_component"].tolist()
        )
        # JSON as sent -> the same table in Python (1e400 and NaN are what json reads them as).
        _refuses_as_python(
            url,
            in_python,
            ["x1", "x2"],
            {
                "[[true, 1.0]]": pd.DataFrame({"x1": [True], "x2": [1.0]}),
                '[["1.5", 1.0]]': pd.DataFrame({"x1": ["1.5"], "x2": [1.0]}),
                "[[NaN, 1.0]]": pd.DataFrame({"x1": [float("nan")], "x2": [1.0]}),
                "[[1e400, 1.0]]": pd.DataFrame({"x1": [float("inf")], "x2": [1.0]}),
            },
        )


@pytest.mark.slow
def test_served_graph_model_refuses_a_node_that_is_not_an_index(tracking, tmp_path):
    from advanced_dl.models.gcn import build_gcn
    from advanced_dl.pipelines.cora_gcn import nodes

    graph = path_graph(6)
    model_params = {"architecture": "gcn", "gcn": {"row_normalise_features": False}}
    features = nodes.build_node_features(graph, model_params)
    graph_filter = nodes.build_graph_filter(graph, model_params)
    _, class_names = nodes.encode_labels(graph)
    keras.utils.set_random_seed(0)
    model = build_gcn(6, 5, 2, hidden_units=4)
    served = nodes.build_served_model(model, features, graph_filter, graph, class_names, 0)
    KerasPyfuncModelDataset(name="model").save(served)
    uri = f"runs:/{tracking.info.run_id}/model"
    in_python = mlflow.pyfunc.load_model(uri)
    with _served(uri, tmp_path) as url:
        status, answer = _post(url, ["node"], "[[1], [4]]")
        assert status == 200 and [row["node"] for row in answer["predictions"]] == [1, 4]
        # MLflow used to cast these to node 1, 2 and 1 before the model saw them.
        _refuses_as_python(
            url,
            in_python,
            ["node"],
            {
                "[[1.5]]": pd.DataFrame({"node": [1.5]}),
                "[[2.7]]": pd.DataFrame({"node": [2.7]}),
                "[[true]]": pd.DataFrame({"node": [True]}),
                "[[-1]]": pd.DataFrame({"node": [-1]}),
                "[[1000000]]": pd.DataFrame({"node": [10**6]}),
            },
        )
