"""PngFigureDataset: figures saved as PNG and loaded back as images."""

from __future__ import annotations

from matplotlib.figure import Figure

from advanced_dl.io import PngFigureDataset


def test_png_figure_round_trip(tmp_path):
    figure = Figure(figsize=(2, 2))
    figure.subplots().plot([0, 1], [1, 0])
    dataset = PngFigureDataset(filepath=str(tmp_path / "f.png"))
    dataset.save(figure)
    image = dataset.load()
    assert image.format == "PNG"
    assert image.size[0] > 50
