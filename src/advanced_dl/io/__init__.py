"""Kedro datasets of this project, referenced from ``conf/base/catalog*.yml``."""

from advanced_dl.io.figures import PngFigureDataset
from advanced_dl.io.keras_model import KerasModelDataset
from advanced_dl.io.metrics import MlflowMetricsJsonDataset
from advanced_dl.io.nab import NabSeriesDataset
from advanced_dl.io.pyfunc_model import KerasPyfuncModelDataset
from advanced_dl.io.remote import RemoteFileDataset

__all__ = [
    "KerasModelDataset",
    "KerasPyfuncModelDataset",
    "MlflowMetricsJsonDataset",
    "NabSeriesDataset",
    "PngFigureDataset",
    "RemoteFileDataset",
]
