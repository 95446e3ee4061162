"""Run-time set-up used by the hooks: seeding, device choice, provenance.

Kept free of Kedro so it can be unit-tested directly; TensorFlow is imported
inside functions because importing it costs seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def quiet_tensorflow_start_up(environ: dict[str, str] | None = None) -> str:
    """Choose TensorFlow's C++ log level before TensorFlow is imported, unless the user set one.

    On a machine without an NVIDIA driver, TensorFlow's CUDA build logs "failed
    call to cuInit" as an error on every run although nothing is wrong: level 3
    keeps it out (the device hook logs the device it chose). Where a driver is
    present, level 1 keeps warnings and errors, which then say something true.

    Returns the level in force.
    """
    environ = os.environ if environ is None else environ
    if "TF_CPP_MIN_LOG_LEVEL" not in environ:
        has_driver = Path("/proc/driver/nvidia").exists() or any(Path("/dev").glob("nvidia*"))
        environ["TF_CPP_MIN_LOG_LEVEL"] = "1" if has_driver else "3"
    return environ["TF_CPP_MIN_LOG_LEVEL"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow/Keras so a rerun repeats its metrics."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"Parameter 'seed' must be a non-negative integer, got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    import keras

    # Seeds Python, NumPy and the TensorFlow backend in one call.
    keras.utils.set_random_seed(seed)


@contextlib.contextmanager
def keras_seeds_from_own_generator(seed: int) -> Iterator[None]:
    """Within this context, Keras draws the seeds of new layers' random generators
    (dropout) from a generator of its own, seeded like ``random.seed(seed)``.

    Keras takes them from Python's global ``random``, which other threads of
    the process draw from too: a Dask worker's event loop draws from it for its
    timers' jitter, so in a worker the seeds would depend on timing. A private
    generator makes a task's randomness its seed's alone, the same numbers as a
    ``kedro run`` with that seed.
    """
    from keras.src.random import seed_generator

    shared = seed_generator.python_random
    seed_generator.python_random = random.Random(seed)
    try:
        yield
    finally:
        seed_generator.python_random = shared


@dataclass(frozen=True)
class DeviceChoice:
    """Where training runs and with which precision policy."""

    device: str  # e.g. "GPU:0 (/physical_device:GPU:0)" or "CPU"
    gpu_count: int
    precision_policy: str  # "float32" or "mixed_float16"


def choose_device(
    mixed_precision: bool = False,
    list_gpus: Callable[[], Sequence[Any]] | None = None,
    set_memory_growth: Callable[[Any, bool], None] | None = None,
    set_precision_policy: Callable[[str], None] | None = None,
) -> DeviceChoice:
    """Train on the GPUs TensorFlow sees (memory growth on), else on the CPU.

    The three callables default to TensorFlow's and Keras' own; tests pass
    fakes so the GPU branch runs on a machine without one.

    Args:
        mixed_precision: use the ``mixed_float16`` policy on a GPU. Ignored,
            with a warning, on the CPU where float16 is slower, not faster.
    """
    if list_gpus is None or set_memory_growth is None or set_precision_policy is None:
        import keras
        import tensorflow as tf

        list_gpus = list_gpus or (lambda: tf.config.list_physical_devices("GPU"))
        set_memory_growth = set_memory_growth or tf.config.experimental.set_memory_growth
        set_precision_policy = set_precision_policy or keras.mixed_precision.set_global_policy

    gpus = list(list_gpus())
    policy = "float32"
    if gpus:
        for gpu in gpus:
            try:
                set_memory_growth(gpu, True)
            except RuntimeError as error:
                # Raised when the GPU was initialised earlier in the process.
                logger.warning("Could not enable memory growth on %s: %s", gpu, error)
        device = f"GPU:0 ({getattr(gpus[0], 'name', gpus[0])})"
        if mixed_precision:
            policy = "mixed_float16"
    else:
        device = "CPU"
        if mixed_precision:
            logger.warning(
                "Parameter 'mixed_precision' is true but no GPU is visible: using float32"
            )
    set_precision_policy(policy)
    logger.info("Training device: %s, %d GPU(s), precision policy %s", device, len(gpus), policy)
    return DeviceChoice(device=device, gpu_count=len(gpus), precision_policy=policy)


def _git(project_path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=project_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()


def git_commit(project_path: Path) -> str | None:
    """The checked-out commit (with ``-dirty`` for uncommitted changes), or None."""
    try:
        commit = _git(project_path, "rev-parse", "HEAD")
        status = _git(project_path, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if status else commit


SYSTEM_METRICS_INTERVAL_SECONDS = 5.0


def start_system_metrics(run_id: str, interval_seconds: float = SYSTEM_METRICS_INTERVAL_SECONDS):
    """Start logging CPU, memory (and GPU) use to ``run_id``; returns the monitor to ``finish()``.

    The run's "System metrics" tab shows them; GPU figures need ``nvidia-ml-py``
    (the ``gpu`` extra). Sampled every ``interval_seconds`` so short runs get points.
    One monitor per run: MLflow's global switch would start another each time
    kedro-mlflow re-enters the run before a node, and their points would collide.
    """
    from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

    monitor = SystemMetricsMonitor(
        run_id, sampling_interval=interval_seconds, samples_before_logging=1
    )
    monitor.start()
    return monitor


def stop_system_metrics(monitor) -> None:
    """Stop ``monitor`` after logging one last sample, so runs shorter than the interval get one."""
    monitor.finish()
    monitor.collect_metrics()
    monitor.publish_metrics(monitor.aggregate_metrics())
    monitor.mlflow_logger.flush()


class TrackingServerUnreachable(RuntimeError):
    """The MLflow tracking server named by the configuration does not answer."""


def check_tracking_server(uri: str, timeout: float = 3.0) -> None:
    """Raise :class:`TrackingServerUnreachable` within ``timeout`` seconds unless ``uri`` answers.

    For ``http(s)://`` URIs only (MLflow's ``/health`` endpoint); MLflow's own
    client would otherwise retry for minutes before failing.
    """
    import urllib.error
    import urllib.request

    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout) as answer:
            if answer.status == 200:
                return
            problem = f"it answered HTTP {answer.status} on /health"
    except (urllib.error.URLError, OSError) as error:
        problem = f"{getattr(error, 'reason', error)}"
    raise TrackingServerUnreachable(
        f"MLflow tracking server {uri} is unreachable ({problem}). Start it, e.g. "
        "`mlflow server --host 127.0.0.1 --port 5000` (see README, 'Tracking'), or unset "
        "MLFLOW_TRACKING_URI to use the local store sqlite:///mlflow.db."
    )


def sqlite_store_path(uri: str, project_path: Path) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI (relative to the project), else None."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    path = Path(uri[len(prefix) :].split("?", 1)[0])
    return path if path.is_absolute() else project_path / path


def initialise_sqlite_store(database: Path) -> None:
    """Create or migrate the SQLite tracking store once, whatever the number of runs starting.

    MLflow creates and migrates the schema on first use; two processes doing it
    at once fail (duplicate columns, alembic version checks). An exclusive lock
    on ``<database>.lock`` makes the first one do it while the others wait.
    """
    import fcntl

    from mlflow.tracking import MlflowClient

    database.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{database}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            MlflowClient(tracking_uri=f"sqlite:///{database}").search_experiments(max_results=1)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# Tags that let a later run tell whether the process of a RUNNING run still lives.
HOST_TAG = "advanced_dl.host"
PID_TAG = "advanced_dl.pid"
PROCESS_STARTED_TAG = "advanced_dl.process_started"
ABANDONED_TAG = "advanced_dl.abandoned"


def process_tags() -> dict[str, str]:
    """This process' host, id and start time, as MLflow tags of the run it drives."""
    import socket

    import psutil

    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
        PROCESS_STARTED_TAG: f"{psutil.Process().create_time():.3f}",
    }


def process_running(pid: int, started: str) -> bool:
    """Whether process ``pid`` lives and is the one that started at ``started``
    (a process id is reused once its process has ended)."""
    import psutil

    try:
        process = psutil.Process(pid)
        return (
            process.status() != psutil.STATUS_ZOMBIE and f"{process.create_time():.3f}" == started
        )
    except psutil.NoSuchProcess:
        return False


def close_abandoned_runs(client: Any, current_run_id: str) -> list[str]:
    """Mark KILLED every RUNNING run of this host whose process has ended; return their ids.

    A run killed by SIGKILL, or by a machine that stopped, never closes its
    MLflow run: it would stay RUNNING forever. Runs of other hosts are left
    alone (their processes cannot be seen from here), as are runs without the
    :func:`process_tags`.
    """
    import socket

    host = socket.gethostname()
    experiment_ids = [experiment.experiment_id for experiment in client.search_experiments()]
    if not experiment_ids:
        return []
    running = client.search_runs(
        experiment_ids,
        filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{host}'",
        max_results=1000,
    )
    closed = []
    for run in running:
        tags = run.data.tags
        pid, started = tags.get(PID_TAG), tags.get(PROCESS_STARTED_TAG)
        if run.info.run_id == current_run_id or pid is None or started is None:
            continue
        if process_running(int(pid), started):
            continue
        client.set_tag(
            run.info.run_id,
            ABANDONED_TAG,
            f"found by run {current_run_id}: process {pid} on {host} had ended without "
            "closing this run (killed, interrupted or the machine stopped); its outputs "
            "were never published",
        )
        client.set_terminated(run.info.run_id, status="KILLED")
        closed.append(run.info.run_id)
    return closed
