"""Figures of ``nab_anomaly``: detections on the test series and the anomaly score over time."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from advanced_dl.nab import score as nab_score
from advanced_dl.pipelines.nab_anomaly.nodes import window_rows


def _shade_windows(axis, detections: pd.DataFrame) -> None:
    for k, (left, right) in enumerate(window_rows(detections)):
        axis.axvspan(
            detections["timestamp"].iloc[left],
            detections["timestamp"].iloc[right],
            color="tab:orange",
            alpha=0.2,
            label="NAB window" if k == 0 else None,
        )


def plot_detections(
    test_detections: pd.DataFrame, test_series: str, own_series: dict[str, Any]
) -> Figure:
    """Test series with NAB windows shaded, labelled anomalies and detections marked.

    A user's own series (``own_series.path`` set) has no windows, labels or
    probationary period: only its values and detections are drawn.
    """
    detections = test_detections
    figure = Figure(figsize=(12, 4), layout="constrained")
    axis = figure.subplots()
    axis.plot(detections["timestamp"], detections["value"], lw=0.7, color="tab:blue", label="value")
    _shade_windows(axis, detections)
    own = own_series["path"] is not None
    probation = 0 if own else nab_score.probationary_rows(len(detections))
    if probation:
        axis.axvline(
            detections["timestamp"].iloc[probation],
            color="grey",
            ls=":",
            label="end of probationary period",
        )
    labelled = detections[detections["label"] == 1]
    axis.scatter(
        labelled["timestamp"],
        labelled["value"],
        marker="o",
        s=60,
        facecolors="none",
        edgecolors="black",
        zorder=3,
        label="labelled anomaly",
    )
    flagged = detections[detections["is_anomaly"]]
    axis.scatter(
        flagged["timestamp"],
        flagged["value"],
        marker="x",
        s=18,
        color="tab:red",
        zorder=4,
        label=f"detection ({len(flagged)} rows)",
    )
    axis.set_title(f"{own_series['path'] if own else test_series}: detections")
    axis.set_xlabel("timestamp")
    axis.set_ylabel("value")
    axis.legend(loc="upper left", fontsize="small")
    return figure


def plot_anomaly_score(test_detections: pd.DataFrame, threshold: float) -> Figure:
    """Anomaly score per row with the threshold line (symlog axis when the peak dwarfs it)."""
    detections = test_detections
    figure = Figure(figsize=(12, 3.5), layout="constrained")
    axis = figure.subplots()
    axis.plot(detections["timestamp"], detections["anomaly_score"], lw=0.7, label="anomaly score")
    axis.axhline(threshold, color="tab:red", ls="--", label=f"threshold {threshold:.3g}")
    _shade_windows(axis, detections)
    if detections["anomaly_score"].max() - threshold > 50 * max(abs(threshold), 1.0):
        axis.set_yscale("symlog")
    axis.set_xlabel("timestamp")
    axis.set_ylabel("-log-likelihood of the newest row")
    axis.legend(loc="upper left", fontsize="small")
    return figure
