"""Dask fan-out: results in task order, failures named, an existing cluster used as given."""

from __future__ import annotations

import math
import operator

import pytest
from dask.distributed import Client, LocalCluster

from advanced_dl.fanout.cluster import SCHEDULER_ADDRESS_VARIABLE, TaskFailedError, map_tasks


def test_results_come_back_in_task_order_from_a_local_cluster():
    tasks = list(range(20))
    assert map_tasks(operator.neg, tasks, workers=2) == [-t for t in tasks]


def _environment_value(name):
    import os

    return os.environ.get(name)


def test_local_workers_start_without_dasks_malloc_trim_threshold(monkeypatch):
    # Dask's default sets it in every worker; it made GRAND's epochs 1.77x slower.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    names = ["MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"]
    assert map_tasks(_environment_value, names, workers=1) == [None, "1", "1"]


def test_a_failing_task_is_named():
    with pytest.raises(TaskFailedError, match=r"series 'minus-one' failed: ValueError"):
        map_tasks(
            math.sqrt, [4.0, -1.0], workers=1, keys=["four", "minus-one"], description="series"
        )


@pytest.fixture
def running_cluster():
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        yield cluster


def test_an_existing_cluster_is_used_and_left_running(running_cluster, monkeypatch):
    address = running_cluster.scheduler_address
    monkeypatch.delenv(SCHEDULER_ADDRESS_VARIABLE, raising=False)
    assert map_tasks(operator.neg, [1, 2], address=address) == [-1, -2]
    monkeypatch.setenv(SCHEDULER_ADDRESS_VARIABLE, address)
    assert map_tasks(operator.neg, [3], workers=5) == [-3]  # workers: ignored
    with Client(address) as client:  # still up, and it ran our tasks
        assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.workers)) == 1
