"""``imdb_transformer`` on an in-memory catalog: a few hundred reviews, one epoch."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from advanced_dl.pipelines.imdb_transformer import create_pipeline
from advanced_dl.serving.imdb_transformer import ReviewSentimentModel

from .conftest import synthetic_reviews, write_archive

NS = "imdb_transformer"
REPO_ROOT = Path(__file__).resolve().parents[3]


class KeptDataset(MemoryDataset):
    """A MemoryDataset the runner does not empty once its consumers ran, to inspect it after."""

    def _release(self) -> None:
        pass


def _default_params() -> dict:
    path = REPO_ROOT / "conf" / "base" / "parameters_imdb_transformer.yml"
    return yaml.safe_load(path.read_text())[NS]


def test_pipeline_runs_end_to_end_in_memory(tmp_path):
    archive = write_archive(tmp_path / "aclImdb_v1.tar.gz", synthetic_reviews(75))  # 300 reviews
    params = _default_params()
    params["training"]["epochs"] = 1
    params["vectorisation"]["sequence_length"] = 40
    pipeline = create_pipeline()

    datasets = {f"{NS}.raw_archive": MemoryDataset(archive)}
    for group, values in params.items():
        datasets[f"params:{NS}.{group}"] = MemoryDataset(values)
    datasets["params:seed"] = MemoryDataset(42)
    for name in pipeline.all_outputs():
        datasets[name] = KeptDataset(copy_mode="assign")
    catalog = DataCatalog(datasets=datasets)

    SequentialRunner().run(pipeline, catalog)

    reviews = catalog.load(f"{NS}.reviews")
    assert len(reviews) == 300
    assert len(catalog.load(f"{NS}.validation_reviews")) == 15  # 10% of 150 training reviews
    vocabulary = catalog.load(f"{NS}.vocabulary")
    assert vocabulary[:2] == ["", "[UNK]"]
    train_tokens = catalog.load(f"{NS}.train_tokens")
    assert train_tokens.shape == (135, 40) and train_tokens.dtype == np.int32

    metrics = catalog.load(f"{NS}.test_metrics")
    assert set(metrics) == {"test_accuracy", "test_loss", "test_roc_auc", "test_f1"}
    assert all(math.isfinite(v) for v in metrics.values())
    history = catalog.load(f"{NS}.training_history")
    assert history["epochs_trained"] == 1 and history["epoch_seconds"] > 0
    for figure in ("training_curves_figure", "confusion_matrix_figure", "attention_figure"):
        assert isinstance(catalog.load(f"{NS}.{figure}"), Figure)

    served = catalog.load(f"{NS}.served_model")
    assert isinstance(served, ReviewSentimentModel)
    scored = served.predict(None, pd.DataFrame({"review": ["Brilliant and moving.", "Awful."]}))
    assert scored.shape == (2, 2)
