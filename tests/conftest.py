"""Shared fixtures: a throw-away project copy to run ``kedro run`` in, and the data mirror."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import NamedTuple

import pytest
from kedro.io import MemoryDataset

REPO_ROOT = Path(__file__).resolve().parents[1]
# The kedro command of the environment running the tests.
KEDRO = Path(sys.executable).parent / "kedro"
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


class PlainRun(NamedTuple):
    """The project the plain run ran in, and what it printed."""

    project: Path
    output: str


class KeptMemoryDataset(MemoryDataset):
    """A MemoryDataset the runner does not empty after its last consumer, to inspect it after."""

    def _release(self) -> None:
        pass


def data_mirror() -> Path | None:
    """The dataset mirror from ``$ADVANCED_DL_DATA_MIRROR`` (relative to the repo), if present."""
    configured = os.environ.get("ADVANCED_DL_DATA_MIRROR")
    if not configured:
        return None
    path = Path(configured)
    if not path.is_absolute():
        path = (REPO_ROOT / path).resolve()
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The real-data mirror; tests that need it are skipped where it is absent."""
    path = data_mirror()
    if path is None:
        pytest.skip("ADVANCED_DL_DATA_MIRROR does not point at a dataset mirror directory")
    return path


@pytest.fixture
def kedro_project(tmp_path: Path) -> Path:
    """A copy of the project's config in a temporary folder, so runs write nowhere in the repo.

    The package itself is the installed one; data, models and the MLflow
    store (``mlflow.db``) are created inside the copy.
    """
    return make_kedro_project(tmp_path / "project")


# Plain `kedro run` of every pipeline, each tiny; the tests of what one pipeline's
# run logs, serves and shows in its notebook read this one run (one TensorFlow
# start-up for all four) instead of each running its pipeline again.
PLAIN_RUN_PARAMS = ",".join(
    [
        "cora_gcn.split=planetoid",
        "cora_gcn.training.gcn.epochs=3",
        "cora_gcn.training.verbose=false",
        "cora_gcn.tsne.max_nodes=150",
        "cora_gcn.tsne.max_iter=250",
        "imdb_transformer.data.max_reviews_per_split=200",
        "imdb_transformer.training.epochs=1",
        "mdn_synthetic.data.n_samples=700",
        "mdn_synthetic.data.train_size=600",
        "mdn_synthetic.training.epochs=2",
        "nab_anomaly.train_last_row=400",
        "nab_anomaly.training.epochs=1",
        # The corpus detector briefly trained: the tests are about the run, not the fit.
        "nab_benchmark.detector.lstm_vae.training.epochs=1",
        "nab_benchmark.detector.next_value.epochs=2",
    ]
)


@pytest.fixture(scope="session")
def plain_run(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> PlainRun:
    """Plain ``kedro run --params PLAIN_RUN_PARAMS``, run once in a project of its own.

    As a new user runs it: TensorFlow's log level is left to the project.
    """
    project = make_kedro_project(tmp_path_factory.mktemp("plain_run") / "project")
    completed = run_kedro(project, "run", "--params", PLAIN_RUN_PARAMS, TF_CPP_MIN_LOG_LEVEL=None)
    return PlainRun(project, completed.stdout + completed.stderr)


@pytest.fixture(scope="session")
def plain_run_project(plain_run: PlainRun) -> Path:
    """The project in which the plain run ran."""
    return plain_run.project


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Send every test that reads the plain run to one xdist worker, so it runs once.

    The suite runs on two workers (``-n 2`` in pyproject.toml): most of its time is
    ``kedro`` subprocesses that use one core each.
    """
    for item in items:
        if "plain_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("plain_run"))


def make_kedro_project(project: Path) -> Path:
    """Create the project copy :func:`kedro_project` describes at ``project``."""
    from advanced_dl.benchmark import fresh_project_copy

    return fresh_project_copy(REPO_ROOT, project)


def kedro_environment(project: Path, **env: str | None) -> dict[str, str]:
    """The environment a test's ``kedro`` command runs in: the project's own MLflow
    store, no telemetry, the data mirror; ``env`` adds variables (None removes one)."""
    environment = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "1",
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        "MPLBACKEND": "Agg",
        **env,
    }
    environment = {name: value for name, value in environment.items() if value is not None}
    mirror_path = data_mirror()
    if mirror_path is not None:
        environment["ADVANCED_DL_DATA_MIRROR"] = str(mirror_path)
    return environment


def run_kedro(
    project: Path, *args: str, timeout: float = 900, expect_failure=False, **env: str | None
):
    """Run ``kedro <args>`` in ``project`` with a local MLflow store; return the completed process.

    ``env`` adds variables (None removes one). Fails the test with kedro's output
    when the command exits non-zero (or, with ``expect_failure``, when it exits zero).
    """
    completed = subprocess.run(
        [str(KEDRO), *args],
        cwd=project,
        env=kedro_environment(project, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if (completed.returncode != 0) != expect_failure:
        pytest.fail(
            f"kedro {' '.join(args)} exited {completed.returncode}\n"
            f"--- stdout ---\n{completed.stdout[-6000:]}\n"
            f"--- stderr ---\n{completed.stderr[-12000:]}"
        )
    return completed


def all_at_once(callers: int, call) -> tuple[list, list[Exception]]:
    """``call()`` in ``callers`` threads released together (threads stand in for
    processes racing on one database: separate connections, the same race);
    returns what the calls returned and what they raised."""
    start = threading.Barrier(callers)
    results: list = []
    errors: list[Exception] = []

    def racer():
        start.wait()
        try:
            results.append(call())
        except Exception as error:  # returned to the test, whatever it is
            errors.append(error)

    threads = [threading.Thread(target=racer) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


class KedroInBackground:
    """``kedro <args>`` started in ``project`` for a test to kill; its output goes to a
    log beside the project, which ``ended_early`` puts in the failure message."""

    def __init__(self, project: Path, *args: str, new_session: bool = False):
        self.log = project.parent / f"{project.name}-{args[0]}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(KEDRO), *args],
                cwd=project,
                env=kedro_environment(project),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=new_session,
            )

    def ended_early(self, what: str) -> str:
        """``what`` and the command's last output, for an assertion message."""
        return f"{what}; it printed:\n{self.log.read_text()[-4000:]}"


def latest_run(project: Path, experiment: str):
    """The newest MLflow run of ``experiment`` in the project's store.

    Also points this process's MLflow at that store, so ``runs:/`` URIs resolve.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{project / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment named {experiment!r}"
    runs = client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"])
    assert runs, f"experiment {experiment!r} has no runs"
    return client, runs[0]


@pytest.fixture
def tracking(tmp_path):
    """A throw-away MLflow store with an active run."""
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run() as run:
        yield run
    mlflow.set_tracking_uri(previous)
