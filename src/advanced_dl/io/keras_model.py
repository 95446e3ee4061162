"""A Keras 3 model stored as a single ``.keras`` file, optionally versioned."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractVersionedDataset, DatasetError, Version


def save_keras_model(
    model: Any, path: str | os.PathLike, *, include_optimizer: bool, zipped: bool = True
) -> None:
    """Write ``model`` to a ``.keras`` file, with or without its optimizer's state.

    Keras 3 honours its own ``include_optimizer`` for ``.h5`` files only and
    saves whatever ``model.optimizer`` holds, so the optimizer is detached for
    the save and put back after it: the caller's model is unchanged.
    ``zipped=False`` writes Keras' unzipped format, a folder (its name must not
    end in ``.keras``) that ``keras.saving.load_model`` reads as well.

    Either way the weights go straight to disk: Keras stages a zip's weights
    in memory whenever half the free memory holds them (twice the weights'
    size while the zip is written), so the ``.keras`` file is zipped here from
    the unzipped folder, the layout Keras writes itself (``metadata.json``,
    ``config.json``, ``model.weights.h5``, ``assets/``), uncompressed as Keras does.
    """
    optimizer = getattr(model, "optimizer", None)
    detach = optimizer is not None and not include_optimizer
    try:
        if detach:
            model.optimizer = None
        if not zipped:
            model.save(str(path), zipped=False)
            return
        with tempfile.TemporaryDirectory(dir=Path(path).parent, prefix=".tmp-") as staging:
            folder = Path(staging) / "model"
            model.save(str(folder), zipped=False)
            _zip_folder(folder, Path(path))
    finally:
        if detach:
            model.optimizer = optimizer


def _zip_folder(folder: Path, path: Path) -> None:
    """Write every file under ``folder`` to the zip ``path``, named relative to ``folder``."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())


class KerasModelDataset(AbstractVersionedDataset):
    """Save and load a ``keras.Model`` in the native ``.keras`` format.

    Saving writes to a temporary file and renames it, so a crash never leaves
    a truncated model behind. Loading imports ``advanced_dl.models`` first so
    the project's custom layers are registered. With ``versioned: true`` in the
    catalog, each run saves under ``<filepath>/<version>/`` and a load without a
    pinned version reads the newest. ``load_args`` go to ``keras.saving.load_model``:
    ``compile: false`` loads the layers and weights without the optimizer's
    state, which inference never needs (for a model with a large embedding
    table that state is twice the table's size). ``save_args``:
    ``include_optimizer: false`` leaves that state out of the file (Keras 3's
    own ``include_optimizer`` applies to ``.h5`` files only).
    """

    def __init__(
        self,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
    ) -> None:
        if not filepath.endswith(".keras"):
            raise DatasetError(f"KerasModelDataset filepath must end in '.keras', got {filepath!r}")
        super().__init__(PurePosixPath(filepath), version)
        self.metadata = metadata
        self._load_args = dict(load_args or {})
        self._save_args = {"include_optimizer": True, **(save_args or {})}
        unknown = set(self._save_args) - {"include_optimizer"}
        if unknown:
            raise DatasetError(
                f"KerasModelDataset save_args takes 'include_optimizer' only, got {sorted(unknown)}"
            )

    def load(self) -> Any:
        import keras

        import advanced_dl.models  # noqa: F401  (registers custom layers)

        return keras.saving.load_model(str(self._get_load_path()), **self._load_args)

    def save(self, data: Any) -> None:
        path = Path(self._get_save_path())
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(suffix=".keras", dir=path.parent, prefix=".tmp-")
        os.close(handle)
        try:
            save_keras_model(data, staging, include_optimizer=self._save_args["include_optimizer"])
            os.replace(staging, path)
        finally:
            if os.path.exists(staging):
                os.remove(staging)

    def _exists(self) -> bool:
        try:
            return Path(self._get_load_path()).is_file()
        except DatasetError:  # no version saved yet
            return False

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "version": self._version,
            "load_args": self._load_args,
            "save_args": self._save_args,
        }
