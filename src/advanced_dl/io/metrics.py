"""Metrics logged to MLflow and kept as JSON for notebooks and reports."""

from __future__ import annotations

import json
import math
from typing import Any

import mlflow
from kedro.io import DatasetError, Version
from kedro_datasets.json import JSONDataset
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset


def to_metric_items(metrics: dict[str, Any]) -> dict[str, Any]:
    """``{name: scalar | [per-epoch values]}`` -> kedro-mlflow's ``{name: {value, step}}`` form.

    A scalar is logged at step 0; a list is logged one value per step (epoch).
    """
    items: dict[str, Any] = {}
    for name, value in metrics.items():
        if isinstance(value, list | tuple):
            if not value:
                continue
            items[name] = [{"value": float(v), "step": step} for step, v in enumerate(value)]
        else:
            items[name] = {"value": float(value), "step": 0}
    return items


class MlflowMetricsJsonDataset(MlflowMetricsHistoryDataset):
    """Log a flat dict of metrics to the active MLflow run and keep a JSON copy.

    Values are numbers (logged once, step 0) or lists (one step per entry,
    e.g. per-epoch curves). Metric names are logged as given, without a prefix.
    ``load`` reads the JSON copy, so it works without an MLflow run. The copy
    is a ``json.JSONDataset`` and is versioned like one (``versioned: true``).
    """

    def __init__(
        self,
        filepath: str,
        run_id: str | None = None,
        prefix: str = "",
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        # A non-None prefix keeps kedro-mlflow from prefixing names with the dataset name.
        super().__init__(run_id=run_id, prefix=prefix, metadata=metadata)
        self._filepath = filepath
        self._copy = JSONDataset(filepath=filepath, save_args={"indent": 2}, version=version)

    @property
    def file_dataset(self) -> JSONDataset:
        """The versioned JSON copy: where the run's file is written (``hooks.file_dataset``)."""
        return self._copy

    @property
    def _version(self) -> Version | None:
        # The JSON copy's version, so version pinning reaches the file actually written.
        return self._copy._version

    @_version.setter
    def _version(self, version: Version | None) -> None:
        self._copy._version = version

    def _save(self, data: dict[str, Any]) -> None:
        bad = {
            k: v
            for k, v in data.items()
            if not isinstance(v, list | tuple) and not math.isfinite(float(v))
        }
        if bad:
            raise DatasetError(f"Non-finite metric values for {self._filepath}: {bad}")
        self._copy.save(json.loads(json.dumps(data, default=float)))
        # Without a run, mlflow.log_metric would silently start a stray one.
        if self._run_id is not None or mlflow.active_run() is not None:
            super()._save(to_metric_items(data))

    def _load(self) -> dict[str, Any]:
        return self._copy.load()

    def _exists(self) -> bool:
        return self._copy.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "prefix": self._prefix}
