"""Raw files fetched on first use from their canonical source or the mirror."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from kedro.io.core import parse_dataset_definition

from advanced_dl.data.acquisition import DEFAULT_RAW_DIR, fetch


class RawFileDataset(AbstractDataset):
    """Base of the datasets that read one raw file fetched into ``data/01_raw``.

    ``<raw_dir>/<source>/<relative_path>`` is fetched on first use (from the
    canonical source or ``$ADVANCED_DL_DATA_MIRROR``) and checked against
    ``sha256`` when one is given. Raw data is read-only: ``save`` refuses.
    Subclasses implement ``load`` with :meth:`fetch_local`.
    """

    def __init__(
        self,
        source: str,
        relative_path: str,
        *,
        sha256: str | None = None,
        raw_dir: str = str(DEFAULT_RAW_DIR),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._source = source
        self._relative_path = relative_path
        self._sha256 = sha256
        self._raw_dir = Path(raw_dir)
        self.metadata = metadata

    @property
    def local_path(self) -> Path:
        return self._raw_dir / self._source / self._relative_path

    def fetch_local(self) -> Path:
        """The local copy, fetched first if it is not there yet."""
        return fetch(self._source, self._relative_path, sha256=self._sha256, raw_dir=self._raw_dir)

    def save(self, data: Any) -> None:
        raise DatasetError(f"{self.local_path} is raw data and is never written by the project")

    def _exists(self) -> bool:
        return self.local_path.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"source": self._source, "relative_path": self._relative_path}


class RemoteFileDataset(RawFileDataset):
    """A raw file read through another Kedro dataset, or given as its local ``Path``.

    With ``dataset`` (any Kedro dataset type or config) the local file is read
    through it, e.g. ``json.JSONDataset``; without, ``load`` returns the local
    ``Path``.

    Example::

        nab_anomaly.labels:
          type: advanced_dl.io.RemoteFileDataset
          source: nab
          relative_path: labels/combined_labels.json
          sha256: 98724014...
          dataset: json.JSONDataset
    """

    def __init__(
        self,
        source: str,
        relative_path: str,
        *,
        sha256: str | None = None,
        raw_dir: str = str(DEFAULT_RAW_DIR),
        dataset: str | dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(source, relative_path, sha256=sha256, raw_dir=raw_dir, metadata=metadata)
        self._dataset_config = dataset

    def load(self) -> Any:
        local = self.fetch_local()
        if self._dataset_config is None:
            return local
        config = self._dataset_config
        config = {"type": config} if isinstance(config, str) else dict(config)
        dataset_class, dataset_args = parse_dataset_definition(config)
        return dataset_class(filepath=str(local), **dataset_args).load()

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "sha256": self._sha256, "dataset": self._dataset_config}
