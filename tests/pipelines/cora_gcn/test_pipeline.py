"""``cora_gcn`` on an in-memory catalog: a small synthetic citation graph, a few epochs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from advanced_dl.io.cora import parse_cites, parse_content
from advanced_dl.pipelines.cora_gcn import create_pipeline
from advanced_dl.serving.cora_gcn import CoraGcnServingModel
from tests.conftest import REPO_ROOT, KeptMemoryDataset

NS = "cora_gcn"
METRICS = {
    "test_accuracy",
    "test_macro_f1",
    "selected_val_accuracy",
    "epochs_trained",
    "mean_epoch_seconds",
    "fit_seconds",
}
CLASSES = ("Alpha", "Beta", "Gamma")
N_NODES, N_FEATURES = 60, 12


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


def _params(architecture: str = "gcn") -> dict:
    """Settings for a few epochs; ``"grand+gcnii"`` is GRAND with a small GCNII as a member."""
    path = REPO_ROOT / "conf" / "base" / f"parameters_{NS}.yml"
    params = yaml.safe_load(path.read_text())[NS]
    architecture, *ensemble = architecture.split("+")
    params["model"]["architecture"] = architecture
    params["model"]["ensemble"] = ensemble
    params["model"]["grand"].update(order=2)
    params["model"]["gcnii"].update(layers=2, hidden_units=8)
    params["reference_split"] = {"train_per_class": 4, "val_size": 12, "test_size": 30}
    for section in params["training"].values():
        if isinstance(section, dict):
            section.update(epochs=5)
    params["tsne"].update(max_iter=250)
    return params


@pytest.mark.parametrize("architecture", ["gcn", "gat", "grand+gcnii"])
def test_pipeline_runs_end_to_end_in_memory(architecture):
    content, cites = synthetic_cora()
    cora = {"content": parse_content(content, "content"), "citations": parse_cites(cites, "c")}
    pipeline = create_pipeline()
    datasets: dict = {
        f"{NS}.cora": MemoryDataset(cora, copy_mode="assign"),
        f"{NS}.planetoid": MemoryDataset({}, copy_mode="assign"),  # unused on this split
        "params:seed": MemoryDataset(42),
    }
    for key, value in _params(architecture).items():
        datasets[f"params:{NS}.{key}"] = MemoryDataset(value)
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
    assert history["epochs_trained"] == 5 == len(history["val_loss"])
    best_epoch_accuracy = history["val_accuracy"][history["best_epoch"]]
    if architecture == "grand+gcnii":
        # The curves are the first member's; each member's fit is logged beside them.
        assert history["grand_epochs_trained"] == history["gcnii_epochs_trained"] == 5
        total = history["grand_fit_seconds"] + history["gcnii_fit_seconds"]
        assert history["fit_seconds"] == pytest.approx(total)
        assert catalog.load(f"{NS}.trained_model").name == "ensemble"
    else:
        assert metrics["selected_val_accuracy"] == pytest.approx(best_epoch_accuracy, abs=1e-6)
    report = catalog.load(f"{NS}.test_class_report")
    assert report["class"].tolist() == [*CLASSES, "macro avg", "weighted avg"]
    assert report["support"].iloc[:3].sum() == 30
    embedding = catalog.load(f"{NS}.hidden_embedding")
    assert list(embedding.columns) == ["node", "tsne_1", "tsne_2"] and len(embedding) == N_NODES
    panels = [a.get_ylabel() for a in catalog.load(f"{NS}.training_history_figure").axes]
    assert panels == ["loss", "accuracy", "learning rate"]
    tsne_axis = catalog.load(f"{NS}.hidden_tsne_figure").axes[0]
    assert tsne_axis.get_legend_handles_labels()[1] == list(CLASSES)

    weights = catalog.load(f"{NS}.neighbourhood_weights")
    assert list(weights.columns) == ["node", "neighbour", "head", "weight"]
    assert weights["head"].nunique() == (8 if architecture == "gat" else 1)
    node = int(weights["node"].iloc[0])
    assert masks["test"][node] and node in set(weights["neighbour"])  # attends to itself
    if architecture == "gat":
        np.testing.assert_allclose(weights.groupby("head")["weight"].sum(), 1.0, rtol=1e-5)
    star = catalog.load(f"{NS}.neighbourhood_weights_figure").axes[0]
    assert f"node {node}" in star.get_title()

    served = catalog.load(f"{NS}.served_model")
    assert isinstance(served, CoraGcnServingModel)
    output = served.predict(None, pd.DataFrame({"node": np.arange(N_NODES)}))
    probability_columns = [f"probability_{name}" for name in CLASSES]
    assert list(output.columns) == ["node", "paper_id", *probability_columns, "predicted_class"]
    np.testing.assert_allclose(output[probability_columns].sum(axis=1), 1.0, rtol=1e-5)
    assert output["paper_id"].iloc[0] == "100"
    predicted = output[probability_columns].to_numpy().argmax(axis=1)
    assert output["predicted_class"].tolist() == [CLASSES[k] for k in predicted]
    # The logged test accuracy is the served model's accuracy on the test mask.
    labels = catalog.load(f"{NS}.labels")
    test = masks["test"]
    served_accuracy = (predicted[test] == labels[test].argmax(axis=1)).mean()
    assert metrics["test_accuracy"] == pytest.approx(served_accuracy)
