"""The Dask cluster runs fan out to, and independent tasks on it with a progress bar.

:func:`dask_client` is the one way the project starts or reaches a cluster: a
local cluster of single-threaded worker processes, started for the call and
closed after it, unless a scheduler address is given (an argument, or the
``DASK_SCHEDULER_ADDRESS`` environment variable): work then goes to that
existing cluster, which is left running. :func:`map_tasks` returns results in
the order of the tasks, whatever order they finish in. No Kedro or MLflow here.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

SCHEDULER_ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"

Task = TypeVar("Task")
Result = TypeVar("Result")

# One thread per worker process: workers are the unit of parallelism, and a
# single-threaded TensorFlow gives the same numbers whatever the worker count.
SINGLE_THREAD_ENVIRONMENT = {
    "OMP_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    # oneDNN picks kernels by memory alignment, so its round-off can differ
    # between two runs of the same task; TensorFlow's own kernels do not.
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
}


# Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536 (its
# distributed.nanny.pre-spawn-environ default). Setting that variable also turns off
# glibc's sliding mmap threshold, so every buffer above 128 KiB is mapped, faulted in
# and unmapped on each use: a Cora GRAND epoch, whose propagation allocates 15 MB
# tensors over and over, ran 1.77 times slower per epoch with it (measured:
# docs/sweeps.md). Local workers keep glibc's defaults.
WITHOUT_ENVIRONMENT = ("MALLOC_TRIM_THRESHOLD_",)


@contextlib.contextmanager
def _without_dask_worker_environment() -> Iterator[None]:
    """Workers spawned inside get Dask's pre-spawn environment less :data:`WITHOUT_ENVIRONMENT`."""
    import dask

    default = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    kept = {key: value for key, value in default.items() if key not in WITHOUT_ENVIRONMENT}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": kept}):
        yield


class TaskFailedError(RuntimeError):
    """A task raised; the message names the task, the cause is chained."""


def scheduler_address(address: str | None) -> str | None:
    """The cluster to use: ``address`` if given, else ``$DASK_SCHEDULER_ADDRESS``, else None."""
    return address or os.environ.get(SCHEDULER_ADDRESS_VARIABLE) or None


def local_workers(workers: int | None, address: str | None) -> int:
    """Processes of the local cluster :func:`map_tasks` starts: ``workers``, else one per
    core this process may use; 0 when an existing cluster is used instead."""
    if scheduler_address(address):
        return 0
    if workers:
        return workers
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


class SchedulerUnreachableError(ConnectionError):
    """The Dask scheduler named could not be reached."""


@contextlib.contextmanager
def dask_client(
    workers: int | None = None, address: str | None = None, timeout: float = 10.0
) -> Iterator[Any]:
    """A ``dask.distributed.Client`` of the cluster work fans out to; closed after use.

    Args:
        workers: processes of the local cluster (default: the cores available);
            ignored when an existing cluster is used.
        address: an existing scheduler (``tcp://host:8786``); None falls back
            to ``$DASK_SCHEDULER_ADDRESS``, then to a local cluster.

    Raises:
        SchedulerUnreachableError: the existing scheduler did not answer within
            ``timeout`` seconds (before any work is sent).
    """
    from dask.distributed import Client, LocalCluster

    existing = scheduler_address(address)
    cluster = None
    if existing:
        try:
            client = Client(existing, timeout=timeout)
        except (OSError, TimeoutError) as error:
            raise SchedulerUnreachableError(
                f"The Dask scheduler at {existing} did not answer within {timeout:g} s "
                f"({error}); start one (dask scheduler; dask worker {existing}) or leave out "
                f"the address (and ${SCHEDULER_ADDRESS_VARIABLE}) for a local cluster"
            ) from None
    else:
        with _without_dask_worker_environment():
            cluster = LocalCluster(
                n_workers=local_workers(workers, None),
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: runs side by side never clash
                env=SINGLE_THREAD_ENVIRONMENT,
            )
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def map_tasks(
    function: Callable[[Task], Result],
    tasks: Sequence[Task],
    *,
    workers: int | None = None,
    address: str | None = None,
    keys: Sequence[str] | None = None,
    description: str = "tasks",
) -> list[Result]:
    """``[function(task) for task in tasks]``, each call a Dask task.

    Args:
        function: an importable top-level function (workers unpickle it by name).
        tasks: its arguments, one per task.
        workers, address: the cluster, as :func:`dask_client` takes them.
        keys: a name per task for the progress bar and error messages.
        description: what the progress bar counts.

    Raises:
        TaskFailedError: a task raised (the others are cancelled); names the task.
    """
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    names = list(keys) if keys is not None else [str(i) for i in range(len(tasks))]
    with dask_client(workers, address) as client:
        where = scheduler_address(address) or (
            f"a local cluster of {local_workers(workers, None)} workers"
        )
        logger.info("Dask: %d %s on %s", len(tasks), description, where)
        # pure=False: two equal tasks are still two runs (no result sharing by hash).
        futures = client.map(function, list(tasks), pure=False)
        index_of = {future.key: i for i, future in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        with tqdm(total=len(futures), desc=description, unit="task") as progress:
            for future in as_completed(futures):
                i = index_of[future.key]
                try:
                    results[i] = future.result()
                except Exception as error:
                    for other in futures:
                        other.cancel()
                    raise TaskFailedError(
                        f"{description} {names[i]!r} failed: {error!r}"
                    ) from error
                progress.set_postfix_str(names[i][-40:], refresh=False)
                progress.update()
        return results
