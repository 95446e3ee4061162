"""kedro-mlflow's artifact dataset, versioned from the catalog like any Kedro dataset."""

from __future__ import annotations

from typing import Any

from kedro.io import Version
from kedro_mlflow.io.artifacts import MlflowArtifactDataset


class VersionedMlflowArtifactDataset(MlflowArtifactDataset):
    """``MlflowArtifactDataset`` that takes ``versioned: true`` at its top level.

    kedro-mlflow versions only the wrapped dataset, with a save version of its
    own, which Kedro's catalog refuses (every dataset of a run must share the
    run's save version). Here the wrapped dataset receives the catalog's version,
    so each run writes its own copy before logging it to its MLflow run.

    Example::

        "{namespace}.{name}_figure":
          type: advanced_dl.io.VersionedMlflowArtifactDataset
          artifact_path: figures
          versioned: true
          dataset:
            type: advanced_dl.io.PngFigureDataset
            filepath: data/08_reporting/{namespace}/{name}.png
    """

    def __new__(
        cls,
        dataset: str | dict[str, Any],
        run_id: str | None = None,
        artifact_path: str | None = None,
        credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        version: Version | None = None,
    ):
        config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        if version is not None:
            config["versioned"] = True
        instance = super().__new__(
            cls,
            dataset=config,
            run_id=run_id,
            artifact_path=artifact_path,
            credentials=credentials,
            metadata=metadata,
        )
        if version is not None:
            instance._version = version
        return instance
