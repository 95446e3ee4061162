"""Figures of ``cora_gcn``: the hidden layer's t-SNE and the weights around one node."""

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
    axis.set_title(f"t-SNE of the first graph layer's activations ({len(nodes)} nodes)")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.legend(markerscale=3, fontsize=8, loc="best")
    return figure


def plot_neighbourhood_weights(
    neighbourhood_weights: pd.DataFrame, labels: np.ndarray, class_names: list[str]
) -> Figure:
    """The first graph layer's weights around one node: a star of its neighbours, and per head.

    Left: the node at the centre, each neighbour (and the node itself, as a
    ring) coloured by its class, edges as thick as their weight averaged over
    heads. Right: the weight per neighbour and head (GAT's attention heads;
    GCN has one fixed "head", A_hat's entries).
    """
    node = int(neighbourhood_weights["node"].iloc[0])
    table = neighbourhood_weights.pivot_table(index="neighbour", columns="head", values="weight")
    mean_weight = table.mean(axis=1)
    neighbours = table.index.to_numpy()
    others = neighbours[neighbours != node]
    classes = labels.argmax(axis=1)
    labelled = labels.sum(axis=1) > 0

    def colour(n: int) -> str:
        return f"C{classes[n] % 10}" if labelled[n] else "lightgrey"

    figure = Figure(figsize=(12, 5.5), layout="constrained")
    star, heads = figure.subplots(1, 2, width_ratios=[1.1, 1])
    angles = np.linspace(0, 2 * np.pi, max(len(others), 1), endpoint=False)
    top = max(float(mean_weight.max()), 1e-12)
    for angle, neighbour in zip(angles, others, strict=False):
        x, y = np.cos(angle), np.sin(angle)
        width = 0.5 + 7 * float(mean_weight[neighbour]) / top
        star.plot([0, x], [0, y], color="0.4", linewidth=width, zorder=1)
        star.scatter([x], [y], s=220, color=colour(int(neighbour)), edgecolor="k", zorder=2)
        star.annotate(
            f"{neighbour}\n{mean_weight[neighbour]:.2f}",
            (1.22 * x, 1.22 * y),
            ha="center",
            va="center",
            fontsize=7,
        )
    self_weight = float(mean_weight.get(node, 0.0))
    star.scatter([0], [0], s=500, color=colour(node), edgecolor="k", linewidth=2, zorder=3)
    star.annotate(f"node {node}\nself {self_weight:.2f}", (0, -0.28), ha="center", fontsize=8)
    for k, name in enumerate(class_names):
        star.scatter([], [], color=f"C{k % 10}", label=name.replace("_", " "))
    star.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    star.set_xlim(-1.5, 1.5)
    star.set_ylim(-1.5, 1.5)
    star.set_aspect("equal")
    star.axis("off")
    n_heads = table.shape[1]
    star.set_title(
        f"Weights into node {node} (mean over {n_heads} head{'s' if n_heads > 1 else ''})"
    )
    image = heads.imshow(table.to_numpy(), aspect="auto", cmap="viridis")
    heads.set_yticks(range(len(neighbours)), [str(n) for n in neighbours], fontsize=7)
    heads.set_xticks(range(n_heads), [str(h) for h in table.columns])
    heads.set_xlabel("head")
    heads.set_ylabel("neighbour (the node itself included)")
    heads.set_title("Weight per neighbour and head")
    figure.colorbar(image, ax=heads, label="weight")
    return figure
