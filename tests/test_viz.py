"""``kedro viz run`` serves all four pipelines (started on a free loopback port, then stopped)."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PIPELINES = {"mdn_synthetic", "nab_anomaly", "imdb_transformer", "cora_gcn"}


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
def test_viz_lists_every_pipeline_with_layers(kedro_project):
    port = _free_port()
    kedro = Path(sys.executable).parent / "kedro"
    server = subprocess.Popen(
        [str(kedro), "viz", "run", "--host", "127.0.0.1", "--port", str(port), "--no-browser"],
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
        assert {p["id"] for p in main["pipelines"]} >= PIPELINES | {"__default__"}
        modular = {n["name"] for n in main["nodes"] if n["type"] == "modularPipeline"}
        assert modular >= PIPELINES
        layers = {n["name"]: n.get("layer") for n in main["nodes"] if n["type"] == "data"}
        assert layers["mdn_synthetic.samples"] == "primary"
        assert layers["mdn_synthetic.training_history_figure"] == "reporting"
        assert layers["mdn_synthetic.trained_model"] == "models"
        assert {"raw", "reporting"} <= set(main["layers"])
    finally:
        _stop(server)


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
