"""The training-history figure every pipeline draws. Returns figures; the catalog saves them."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

#: Per-epoch curves drawn, one panel each, with the ``val_`` curve beside the training one.
PANELS = ("loss", "accuracy", "learning_rate")


def plot_training_history(training_history: dict[str, Any]) -> Figure:
    """Loss, accuracy and learning rate per epoch (the panels whose curves exist).

    Args:
        training_history: ``TrainingResult.as_metrics()``: per-epoch lists under
            Keras' names, and scalars such as ``best_epoch`` (0-based), marked
            with a dotted line as the epoch whose weights were kept.
    """
    present = [name for name in PANELS if isinstance(training_history.get(name), list)]
    figure = Figure(figsize=(5 * max(len(present), 1), 3.6), layout="constrained")
    axes = figure.subplots(1, max(len(present), 1), squeeze=False)[0]
    best_epoch = training_history.get("best_epoch")
    for axis, name in zip(axes, present, strict=False):
        curve = training_history[name]
        epochs = range(1, len(curve) + 1)
        axis.plot(epochs, curve, label=f"train {name}" if name != "learning_rate" else name)
        if isinstance(training_history.get(f"val_{name}"), list):
            axis.plot(epochs, training_history[f"val_{name}"], label=f"validation {name}")
        if best_epoch is not None:
            axis.axvline(best_epoch + 1, color="grey", linestyle=":", label="weights kept")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name.replace("_", " "))
        if name == "learning_rate":
            axis.set_yscale("log")
        axis.legend()
        axis.grid(alpha=0.3)
    figure.suptitle("Training history")
    return figure
