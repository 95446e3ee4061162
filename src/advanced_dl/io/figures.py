"""Matplotlib figures saved as PNG, and loadable back as images for notebooks."""

from __future__ import annotations

from typing import Any

from kedro_datasets.matplotlib import MatplotlibDataset


class PngFigureDataset(MatplotlibDataset):
    """``MatplotlibDataset`` whose ``load`` returns the saved PNG as a PIL image.

    Saving is unchanged (and so is kedro-viz's preview); loading lets a
    notebook show the latest figure with ``catalog.load(name)``.
    """

    def load(self) -> Any:
        from kedro.io.core import get_filepath_str
        from PIL import Image

        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        with self._fs.open(load_path, mode="rb") as png:
            image = Image.open(png)
            image.load()
        return image
