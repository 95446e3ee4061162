"""A raw file fetched on first use from its canonical source or the mirror."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from kedro.io.core import parse_dataset_definition

from advanced_dl.data.acquisition import DEFAULT_RAW_DIR, fetch


class RemoteFileDataset(AbstractDataset):
    """Fetch ``<source>/<relative_path>`` into ``data/01_raw`` and load it.

    With ``dataset`` (any Kedro dataset type or config) the local file is read
    through it, e.g. ``pandas.CSVDataset``; without, ``load`` returns the local
    ``Path`` for nodes that parse the file themselves. Raw data is read-only:
    ``save`` refuses.

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
        self._source = source
        self._relative_path = relative_path
        self._sha256 = sha256
        self._raw_dir = Path(raw_dir)
        self._dataset_config = dataset
        self.metadata = metadata

    @property
    def local_path(self) -> Path:
        return self._raw_dir / self._source / self._relative_path

    def load(self) -> Any:
        local = fetch(self._source, self._relative_path, sha256=self._sha256, raw_dir=self._raw_dir)
        if self._dataset_config is None:
            return local
        config = self._dataset_config
        config = {"type": config} if isinstance(config, str) else dict(config)
        dataset_class, dataset_args = parse_dataset_definition(config)
        return dataset_class(filepath=str(local), **dataset_args).load()

    def save(self, data: Any) -> None:
        raise DatasetError(f"{self.local_path} is raw data and is never written by the project")

    def _exists(self) -> bool:
        return self.local_path.is_file()

    def _describe(self) -> dict[str, Any]:
        return {
            "source": self._source,
            "relative_path": self._relative_path,
            "sha256": self._sha256,
            "dataset": self._dataset_config,
        }
