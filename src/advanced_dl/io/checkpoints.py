"""Where long fits keep their checkpoints, handed to a node as a store (not a path)."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset, DatasetError

from advanced_dl.training import CheckpointStore


class CheckpointStoreDataset(AbstractDataset):
    """Loads a :class:`advanced_dl.training.CheckpointStore` over ``directory``.

    The training node saves and resumes through the store; its checkpoints
    are keyed by a fingerprint of the data and settings, so runs with other
    settings never resume from them, and one process at a time writes a key.

    Example::

        imdb_pretrain.checkpoints:
          type: advanced_dl.io.CheckpointStoreDataset
          directory: data/06_models/imdb_pretrain/checkpoints
    """

    def __init__(self, *, directory: str, metadata: dict[str, Any] | None = None) -> None:
        self._directory = directory
        self.metadata = metadata

    def load(self) -> CheckpointStore:
        return CheckpointStore(self._directory)

    def save(self, data: Any) -> None:
        raise DatasetError(
            "CheckpointStoreDataset is read-only: the training node writes through it"
        )

    def _describe(self) -> dict[str, Any]:
        return {"directory": self._directory}
