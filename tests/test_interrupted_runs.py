"""A run killed with SIGKILL leaves nothing a later read trusts, and the next run closes it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advanced_dl.runtime import ABANDONED_TAG
from tests.conftest import KedroInBackground, kedro_environment, latest_run, run_kedro

SAMPLES = Path("data/03_primary/mdn_synthetic/samples.parquet")
# Where a run writes them until it has finished (hooks.UNFINISHED).
UNFINISHED_SAMPLES = Path("data/03_primary/mdn_synthetic/.unfinished/samples.parquet")
# Trains until killed: no early stop within the test's time.
ENDLESS = (
    "mdn_synthetic.data.n_samples=700,mdn_synthetic.data.train_size=600,"
    "mdn_synthetic.training.epochs=100000,mdn_synthetic.training.early_stopping_patience=100000"
)
SHORT = (
    "mdn_synthetic.data.n_samples=700,mdn_synthetic.data.train_size=600,"
    "mdn_synthetic.training.epochs=2"
)
LOAD_NEWEST = """
import sys
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
bootstrap_project(sys.argv[1])
with KedroSession.create(project_path=sys.argv[1]) as session:
    catalog = session.load_context().catalog
    try:
        print(len(catalog.load("mdn_synthetic.samples")))
    except Exception as error:
        print(type(error).__name__)
"""


def _newest_samples(project: Path) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", LOAD_NEWEST, str(project)],
        cwd=project,
        env=kedro_environment(project),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return completed.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_a_killed_run_is_closed_and_its_outputs_stay_invisible(kedro_project):
    run = KedroInBackground(
        kedro_project, "run", "--pipelines", "mdn_synthetic", "--params", ENDLESS
    )
    killed = run.process
    written = kedro_project / UNFINISHED_SAMPLES
    try:
        deadline = time.monotonic() + 120
        while not list(written.glob("*/samples.parquet")):  # the run has written its samples
            assert killed.poll() is None, run.ended_early("the run ended before it was killed")
            assert time.monotonic() < deadline, run.ended_early("the run never wrote")
            time.sleep(0.2)
        time.sleep(1.0)  # well into training
    finally:
        killed.send_signal(signal.SIGKILL)  # it would train forever
        killed.wait(timeout=30)

    # What it wrote is on disk, but no load finds it.
    assert list(written.glob("*/samples.parquet"))
    assert not (kedro_project / SAMPLES).exists()
    assert _newest_samples(kedro_project) == "DatasetError"
    client, abandoned = latest_run(kedro_project, "mdn_synthetic")
    assert abandoned.info.status == "RUNNING"  # nobody closed it yet

    run_kedro(kedro_project, "run", "--pipelines", "mdn_synthetic", "--params", SHORT)

    client, finished = latest_run(kedro_project, "mdn_synthetic")
    closed = client.get_run(abandoned.info.run_id)
    assert closed.info.status == "KILLED" and closed.info.end_time is not None
    assert f"found by run {finished.info.run_id}" in closed.data.tags[ABANDONED_TAG]
    assert finished.info.status == "FINISHED"
    assert _newest_samples(kedro_project) == "700"  # the finished run's samples
    assert len(list((kedro_project / SAMPLES).glob("*/samples.parquet"))) == 1
    versions = client.search_model_versions("name='mdn_synthetic'")
    assert [version.run_id for version in versions] == [finished.info.run_id]
    assert client.get_model_version_by_alias("mdn_synthetic", "champion").run_id == (
        finished.info.run_id
    )
