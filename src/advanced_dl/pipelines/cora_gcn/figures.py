"""Figures of ``cora_gcn``: the t-SNE of the first layer's activations, coloured by class."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def plot_hidden_embedding(
    hidden_embedding: pd.DataFrame, labels: np.ndarray, class_names: list[str]
) -> Figure:
    """t-SNE of the hidden layer (``node, tsne_1, tsne_2``), each node coloured by its class."""
    figure = Figure(figsize=(7.5, 6.5), layout="constrained")
    axis = figure.subplots()
    nodes = hidden_embedding["node"].to_numpy()
    points = hidden_embedding[["tsne_1", "tsne_2"]].to_numpy()
    classes = labels[nodes].argmax(axis=1)
    labelled = labels[nodes].sum(axis=1) > 0
    colours = [f"C{k % 10}" for k in range(len(class_names))]
    for k, name in enumerate(class_names):
        chosen = labelled & (classes == k)
        axis.scatter(
            points[chosen, 0],
            points[chosen, 1],
            s=6,
            color=colours[k],
            label=name.replace("_", " "),
            alpha=0.8,
        )
    axis.set_title(f"t-SNE of the first GCN layer's activations ({len(nodes)} nodes)")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.legend(markerscale=3, fontsize=8, loc="best")
    return figure
