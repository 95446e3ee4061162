"""Kedro datasets of this project, referenced from ``conf/base/catalog*.yml``.

Raw data (NAB series, the Cora archive, the Planetoid files, the IMDB archive)
is read by datasets here, so nodes receive tables and graphs, never paths.
"""

from advanced_dl.io.artifacts import VersionedMlflowArtifactDataset
from advanced_dl.io.checkpoints import CheckpointStoreDataset
from advanced_dl.io.cora import CoraDataset
from advanced_dl.io.encoder import RegisteredEncoderDataset
from advanced_dl.io.figures import PngFigureDataset
from advanced_dl.io.imdb import ImdbReviewsDataset
from advanced_dl.io.keras_model import KerasModelDataset
from advanced_dl.io.metrics import MlflowMetricsJsonDataset
from advanced_dl.io.nab import LocalSeriesDataset, NabSeriesDataset
from advanced_dl.io.nab_results import NabResultsDataset
from advanced_dl.io.planetoid import PlanetoidDataset
from advanced_dl.io.pyfunc_model import KerasPyfuncModelDataset
from advanced_dl.io.remote import RemoteFileDataset

__all__ = [
    "CheckpointStoreDataset",
    "CoraDataset",
    "ImdbReviewsDataset",
    "KerasModelDataset",
    "KerasPyfuncModelDataset",
    "LocalSeriesDataset",
    "MlflowMetricsJsonDataset",
    "NabResultsDataset",
    "NabSeriesDataset",
    "PlanetoidDataset",
    "PngFigureDataset",
    "RegisteredEncoderDataset",
    "RemoteFileDataset",
    "VersionedMlflowArtifactDataset",
]
