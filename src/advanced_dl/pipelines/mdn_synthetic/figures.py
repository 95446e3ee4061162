"""Figures of ``mdn_synthetic``: the training data and the test points by predicted component."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from advanced_dl.features.mixture import frame_parameters
from advanced_dl.pipelines.mdn_synthetic.nodes import X_COLUMNS, match_components


def _scatter_by_component(axis, x: np.ndarray, components: np.ndarray, label: str) -> None:
    for component in np.unique(components):
        rows = components == component
        axis.scatter(x[rows, 0], x[rows, 1], s=6, alpha=0.6, label=f"{label} {component}")
    axis.set_xlabel("x1")
    axis.set_ylabel("x2")
    axis.set_aspect("equal", adjustable="datalim")
    axis.legend(markerscale=3, fontsize="small")


def plot_training_data(train_samples: pd.DataFrame) -> Figure:
    """Training inputs coloured by their true component."""
    figure = Figure(figsize=(5.5, 5), layout="constrained")
    axis = figure.subplots()
    _scatter_by_component(
        axis,
        train_samples[X_COLUMNS].to_numpy(),
        train_samples["component"].to_numpy(),
        "component",
    )
    axis.set_title("Training data by true component")
    return figure


def plot_test_predictions(
    test_samples: pd.DataFrame, test_predictions: pd.DataFrame, data_params: dict[str, Any]
) -> Figure:
    """Test inputs coloured by predicted component; predicted and true means marked."""
    predicted = test_predictions["predicted_component"].to_numpy()
    weights, means, _ = frame_parameters(test_predictions)
    true_means = np.asarray(data_params["means"], dtype=float)
    figure = Figure(figsize=(5.5, 5), layout="constrained")
    axis = figure.subplots()
    _scatter_by_component(axis, test_samples[X_COLUMNS].to_numpy(), predicted, "predicted")
    for true_component, (component, _) in match_components(
        predicted, means, weights, true_means
    ).items():
        rows = predicted == component
        centre = (
            means[rows, component].mean(axis=0) if rows.any() else means[:, component].mean(axis=0)
        )
        axis.scatter(*centre, marker="X", s=140, color="black", zorder=3)
        axis.annotate(f"mu {component}", centre, textcoords="offset points", xytext=(6, 6))
        axis.scatter(*true_means[true_component], marker="+", s=200, color="red", zorder=3)
    axis.set_title("Test data by predicted component (X: predicted mean, +: true mean)")
    return figure
