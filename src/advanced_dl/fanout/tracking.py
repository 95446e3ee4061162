"""What the fan-out drivers log to MLflow besides ``mlflow.log_*``: nested parameters
flattened to dotted names, and per-epoch curves as metric histories."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any


def flatten(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``: parameters as ``kedro run`` logs them."""
    flat: dict[str, Any] = {}
    for key, value in nested.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def experiment_id(name: str) -> str:
    """The id of the MLflow experiment ``name``, created if new.

    Unlike ``mlflow.set_experiment``, this leaves the process's active
    experiment (and the ``MLFLOW_EXPERIMENT_ID`` variable it sets, which child
    processes inherit) alone.
    """
    import mlflow

    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except mlflow.exceptions.MlflowException:
        # Another process (a second machine joining the sweep) created it meanwhile.
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def log_curves(run_id: str, curves: Mapping[str, list[float]]) -> None:
    """Log each curve as ``name`` at steps 0, 1, ... (one step per epoch), in batches."""
    import mlflow

    timestamp = int(time.time() * 1000)
    entities = [
        mlflow.entities.Metric(name, float(value), timestamp, step)
        for name, curve in curves.items()
        for step, value in enumerate(curve)
    ]
    client = mlflow.MlflowClient()
    for start in range(0, len(entities), 1000):  # MLflow's limit per batch
        client.log_batch(run_id, metrics=entities[start : start + 1000])
