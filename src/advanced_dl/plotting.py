"""Figures shared by the pipelines. Returns figures; the catalog saves them."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure


def plot_training_curves(
    history: dict[str, list[float]],
    panels: Sequence[str] = ("loss",),
    title: str = "",
) -> Figure:
    """One panel per metric: training and validation curves per epoch.

    ``panels`` names Keras history keys (``"loss"``, ``"accuracy"``,
    ``"learning_rate"``); the ``val_`` curve is drawn beside each when present.
    """
    present = [name for name in panels if name in history]
    figure = Figure(figsize=(5 * max(len(present), 1), 3.6), layout="constrained")
    axes = figure.subplots(1, max(len(present), 1), squeeze=False)[0]
    for axis, name in zip(axes, present, strict=False):
        epochs = range(1, len(history[name]) + 1)
        axis.plot(epochs, history[name], label=f"train {name}" if name != "learning_rate" else name)
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], label=f"validation {name}")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name.replace("_", " "))
        if name == "learning_rate":
            axis.set_yscale("log")
        axis.legend()
        axis.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    return figure
