"""``cora_gcn`` on an in-memory catalog: a small synthetic citation graph, a few epochs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from advanced_dl.pipelines.cora_gcn import create_pipeline
from advanced_dl.serving import ServingInputError
from advanced_dl.serving.cora_gcn import CoraGcnServingModel

from .test_nodes import make_archive

NS = "cora_gcn"
REPO_ROOT = Path(__file__).resolve().parents[3]
METRICS = {
    "test_accuracy",
    "test_macro_f1",
    "val_accuracy",
    "epochs_trained",
    "epoch_time_ms",
    "fit_seconds",
}
CLASSES = ("Alpha", "Beta", "Gamma")
N_NODES, N_FEATURES = 60, 12


class KeptMemoryDataset(MemoryDataset):
    """Keeps its data after the run, so the test can inspect intermediate outputs."""

    def _release(self) -> None:
        pass


def synthetic_cora() -> tuple[str, str]:
    """Three classes with class-specific words; papers mostly cite papers of their class."""
    rng = np.random.default_rng(3)
    classes = rng.integers(0, len(CLASSES), N_NODES)
    content = []
    for node, k in enumerate(classes):
        words = (rng.random(N_FEATURES) < 0.15).astype(int)
        words[4 * k : 4 * k + 4] |= (rng.random(4) < 0.6).astype(int)
        content.append("\t".join([f"{100 + node}", *map(str, words), CLASSES[k]]))
    cites = []
    for node, k in enumerate(classes):
        same = np.flatnonzero(classes == k)
        for other in rng.choice(same, size=2):
            cites.append(f"{100 + int(other)}\t{100 + node}")
    return "\n".join(content) + "\n", "\n".join(cites) + "\n"


def _params() -> dict:
    path = REPO_ROOT / "conf" / "base" / f"parameters_{NS}.yml"
    params = yaml.safe_load(path.read_text())[NS]
    params["cora_files"]["content"]["sha256"] = None
    params["cora_files"]["cites"]["sha256"] = None
    params["reference_split"] = {"train_per_class": 4, "val_size": 12, "test_size": 30}
    params["training"].update(epochs=5)
    params["tsne"].update(max_iter=250)
    return params


def test_pipeline_runs_end_to_end_in_memory(tmp_path):
    archive = make_archive(tmp_path / "cora.tgz", *synthetic_cora())
    pipeline = create_pipeline()
    datasets: dict = {f"{NS}.cora_archive": MemoryDataset(archive, copy_mode="assign")}
    for name in ("x", "y", "tx", "ty", "allx", "ally", "graph", "test_index"):
        # Never read on the reference split.
        datasets[f"{NS}.planetoid_{name}"] = MemoryDataset(tmp_path / "absent", copy_mode="assign")
    datasets["params:seed"] = MemoryDataset(42)
    params = _params()
    for key, value in params.items():
        datasets[f"params:{NS}.{key}"] = MemoryDataset(value)
    datasets[f"params:{NS}.planetoid_split.val_size"] = MemoryDataset(500)
    for name in pipeline.all_outputs():
        datasets[name] = KeptMemoryDataset(copy_mode="assign")
    catalog = DataCatalog(datasets=datasets)

    SequentialRunner().run(pipeline, catalog)

    masks = catalog.load(f"{NS}.masks")
    assert [int(m.sum()) for m in masks.values()] == [12, 12, 30]
    assert not (masks["train"] & masks["test"]).any()
    history = catalog.load(f"{NS}.training_history")
    metrics = {**catalog.load(f"{NS}.test_metrics"), **history}
    assert set(metrics) >= METRICS
    assert all(math.isfinite(metrics[name]) for name in METRICS)
    assert history["epochs_trained"] == 5 == len(history["epoch_val_loss"])
    best_epoch_accuracy = history["epoch_val_accuracy"][history["best_epoch"]]
    assert metrics["val_accuracy"] == pytest.approx(best_epoch_accuracy, abs=1e-6)
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    report = catalog.load(f"{NS}.test_class_report")
    assert report["class"].tolist() == [*CLASSES, "macro avg", "weighted avg"]
    assert report["support"].iloc[:3].sum() == 30
    embedding = catalog.load(f"{NS}.hidden_embedding")
    assert list(embedding.columns) == ["node", "tsne_1", "tsne_2"] and len(embedding) == N_NODES
    for figure in ("training_curves_figure", "hidden_tsne_figure"):
        assert isinstance(catalog.load(f"{NS}.{figure}"), Figure)

    served = catalog.load(f"{NS}.served_model")
    assert isinstance(served, CoraGcnServingModel)
    output = served.predict(None, pd.DataFrame({"node": np.arange(N_NODES)}))
    probability_columns = [f"probability_{name}" for name in CLASSES]
    assert list(output.columns) == ["node", "paper_id", *probability_columns, "predicted_class"]
    np.testing.assert_allclose(output[probability_columns].sum(axis=1), 1.0, rtol=1e-5)
    assert output["paper_id"].iloc[0] == "100"
    predicted = output[probability_columns].to_numpy().argmax(axis=1)
    assert output["predicted_class"].tolist() == [CLASSES[k] for k in predicted]
    with pytest.raises(ServingInputError, match="node indices 0..59"):
        served.predict(None, pd.DataFrame({"node": [0, N_NODES]}))
    with pytest.raises(ServingInputError, match="'node'"):
        served.predict(None, pd.DataFrame({"paper": [0]}))
