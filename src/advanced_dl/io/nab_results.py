"""A detector's results in NAB's format: a folder of CSVs, one per series."""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractVersionedDataset, DatasetError, Version

RESULTS_COLUMNS = ("timestamp", "value", "anomaly_score", "label")


class NabResultsDataset(AbstractVersionedDataset):
    """``{"<detector>/<category>/<detector>_<file>.csv": table}`` saved as that folder tree.

    Tables have NAB's columns ``timestamp, value, anomaly_score, label``, so
    NAB's own scorer can read the folder as one of its ``results/<detector>``.
    The tree is written beside its final place and renamed into it, so an
    interrupted save leaves no folder under the final name. With
    ``artifact_path`` set, the saved folder is also logged to the active MLflow
    run under that path (nothing is logged without an active run).

    Example::

        nab_benchmark.nab_results:
          type: advanced_dl.io.NabResultsDataset
          filepath: data/07_model_output/nab_benchmark/results
          artifact_path: nab_results
          versioned: true
    """

    def __init__(
        self,
        *,
        filepath: str,
        artifact_path: str | None = None,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version)
        self._artifact_path = artifact_path
        self.metadata = metadata

    def _check_tables(self, data: dict[str, pd.DataFrame]) -> None:
        for key, table in data.items():
            parts = PurePosixPath(key).parts
            if len(parts) != 3 or not key.endswith(".csv") or ".." in parts:
                raise DatasetError(
                    f"NAB results key {key!r}: expected "
                    "'<detector>/<category>/<detector>_<file>.csv'"
                )
            if tuple(table.columns) != RESULTS_COLUMNS:
                raise DatasetError(
                    f"NAB results table {key!r}: expected columns {list(RESULTS_COLUMNS)}, "
                    f"got {list(table.columns)}"
                )

    def _save(self, data: dict[str, pd.DataFrame]) -> None:
        self._check_tables(data)
        target = Path(self._get_save_path())
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        for key, table in data.items():
            path = partial / key
            path.parent.mkdir(parents=True, exist_ok=True)
            table.to_csv(path, index=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.rename(target)
        if self._artifact_path is not None:
            import mlflow

            if mlflow.active_run() is not None:
                mlflow.log_artifacts(str(target), self._artifact_path)

    def _load(self) -> dict[str, pd.DataFrame]:
        root = Path(self._get_load_path())
        return {
            path.relative_to(root).as_posix(): pd.read_csv(path)
            for path in sorted(root.glob("*/*/*.csv"))
        }

    def _exists(self) -> bool:
        try:
            return Path(self._get_load_path()).is_dir()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "artifact_path": self._artifact_path,
            "version": self._version,
        }
