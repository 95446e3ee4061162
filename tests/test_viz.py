"""``kedro viz run`` serves all four pipelines (started on a free loopback port, then stopped)."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest

from tests.conftest import KEDRO, run_kedro

PIPELINES = {"mdn_synthetic", "nab_anomaly", "imdb_transformer", "cora_gcn"}
ON_DEMAND = {"nab_benchmark", "imdb_pretrain"}  # not in __default__: named with --pipelines


def _free_port() -> int:
    """A free loopback port below 49152: kedro-viz refuses the ephemeral range."""
    for port in random.Random().sample(range(20000, 40000), 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail("no free loopback port between 20000 and 40000")


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.mark.slow
def test_viz_lists_every_pipeline_with_layers_and_previews_the_newest_run(kedro_project):
    tiny = "mdn_synthetic.data.n_samples=700,mdn_synthetic.data.train_size=600"
    for seed in (1, 2):  # two versions of every output
        run_kedro(
            kedro_project,
            "run",
            "--pipelines",
            "mdn_synthetic",
            "--params",
            f"{tiny},mdn_synthetic.training.epochs=1,seed={seed}",
        )
    port = _free_port()
    server = subprocess.Popen(
        [str(KEDRO), "viz", "run", "--host", "127.0.0.1", "--port", str(port), "--no-browser"],
        cwd=kedro_project,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline, main = time.monotonic() + 120, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                main = _get_json(f"http://127.0.0.1:{port}/api/main")
                break
            except OSError:
                time.sleep(1)
        if main is None:
            reason = server.stderr.read() if server.poll() is not None else "timeout"
            pytest.fail(f"kedro viz did not answer: {reason}")
        assert {p["id"] for p in main["pipelines"]} >= PIPELINES | ON_DEMAND | {"__default__"}
        modular = {n["name"] for n in main["nodes"] if n["type"] == "modularPipeline"}
        assert modular >= PIPELINES
        layers = {n["name"]: n.get("layer") for n in main["nodes"] if n["type"] == "data"}
        assert layers["mdn_synthetic.samples"] == "primary"
        assert layers["mdn_synthetic.training_history_figure"] == "reporting"
        assert layers["mdn_synthetic.trained_model"] == "models"
        assert {"raw", "reporting"} <= set(main["layers"])
        ids = {n["name"]: n["id"] for n in main["nodes"] if n["type"] == "data"}
        base = f"http://127.0.0.1:{port}/api/nodes"
        figure = _get_json(f"{base}/{ids['mdn_synthetic.training_history_figure']}")
        assert figure["preview_type"] == "ImagePreview" and figure["preview"]
        table = _get_json(f"{base}/{ids['mdn_synthetic.samples']}")
        assert table["preview_type"] == "TablePreview"
        newest = sorted((kedro_project / "data/03_primary/mdn_synthetic/samples.parquet").iterdir())
        expected = pd.read_parquet(newest[-1] / "samples.parquet").head(5)
        previewed = pd.DataFrame(**table["preview"]).reset_index(drop=True)
        np.testing.assert_allclose(previewed["x1"], expected["x1"])  # the newest run's data
    finally:
        _stop(server)


@pytest.mark.slow
def test_viz_build_writes_a_static_site_with_every_pipeline_under_its_namespace(kedro_project):
    run_kedro(kedro_project, "viz", "build", timeout=300)
    api = kedro_project / "build" / "api"
    assert (kedro_project / "build" / "index.html").is_file()
    for pipeline in PIPELINES | ON_DEMAND:
        graph = json.loads((api / "pipelines" / pipeline).read_text())
        namespaces = {n["name"] for n in graph["nodes"] if n["type"] == "modularPipeline"}
        assert namespaces == {pipeline}, pipeline
        data = [n for n in graph["nodes"] if n["type"] == "data"]
        assert data and all(n["name"].startswith(("params:", f"{pipeline}.")) for n in data)


def _stop(server: subprocess.Popen) -> None:
    """Stop the server and everything it started (it may have exited already)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
