"""Figures of ``nab_benchmark``: the scoreboard and the worst-scored series' detections."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from advanced_dl.nab import score as nab_score

from .nodes import THIS_RUN_SOURCE

PROFILE_COLUMNS = {
    "standard": "standard",
    "reward_low_fp": "reward low FP",
    "reward_low_fn": "reward low FN",
}


def plot_scoreboard(scoreboard: pd.DataFrame) -> Figure:
    """Corpus scores of NAB's published detectors and of this run, one bar group per detector."""
    table = scoreboard.iloc[::-1].reset_index(drop=True)  # best at the top
    figure = Figure(figsize=(9, 0.45 * len(table) + 1.5), layout="constrained")
    axis = figure.subplots()
    height = 0.8 / len(PROFILE_COLUMNS)
    positions = np.arange(len(table))
    for k, (column, label) in enumerate(PROFILE_COLUMNS.items()):
        axis.barh(positions + (k - 1) * height, table[column], height=height, label=label)
    ours = table["source"] == THIS_RUN_SOURCE
    axis.set_yticks(positions, table["detector"])
    for tick, is_ours in zip(axis.get_yticklabels(), ours, strict=True):
        tick.set_fontweight("bold" if is_ours else "normal")
    axis.axvline(0, color="black", lw=0.6)
    axis.set_xlabel("NAB corpus score (0 = never fires, 100 = perfect)")
    axis.set_title("NAB scoreboard: published detectors and this run")
    axis.legend(loc="lower right")
    return figure


def plot_worst_series(
    corpus_detections: pd.DataFrame,
    series_summary: pd.DataFrame,
    corpus_thresholds: dict[str, float],
) -> Figure:
    """The series with the lowest standard raw score: values, windows, detections and scores."""
    worst = series_summary.sort_values("raw_standard").iloc[0]
    table = corpus_detections[corpus_detections["series"] == worst["series"]].reset_index(drop=True)
    threshold = corpus_thresholds["standard"]
    figure = Figure(figsize=(12, 6), layout="constrained")
    values_axis, score_axis = figure.subplots(2, 1, sharex=True)
    values_axis.plot(table.index, table["value"], lw=0.6, color="tab:blue", label="value")
    for k, (left, right) in enumerate(nab_score.windows_from_column(table["window"].to_numpy())):
        for axis in (values_axis, score_axis):
            axis.axvspan(
                left,
                right,
                color="tab:orange",
                alpha=0.2,
                label="NAB window" if k == 0 and axis is values_axis else None,
            )
    probationary = nab_score.probationary_rows(len(table))
    fired = table.index[(table["anomaly_score"] >= threshold) & (table.index >= probationary)]
    values_axis.scatter(
        fired,
        table.loc[fired, "value"],
        color="tab:red",
        s=12,
        zorder=3,
        label="detection (corpus standard threshold)",
    )
    values_axis.axvline(probationary, color="grey", ls=":", label="end of probationary period")
    values_axis.set_ylabel("value")
    values_axis.legend(loc="upper left", fontsize="small")
    detected = f"{int(worst['windows_detected'])}/{int(worst['windows'])} windows"
    values_axis.set_title(
        f"Worst series: {worst['series']} ({detected}, {int(worst['false_positives'])} "
        f"false positives, raw standard score {worst['raw_standard']:.2f})"
    )
    score_axis.plot(table.index, table["anomaly_score"], lw=0.6, color="tab:green")
    score_axis.axhline(threshold, color="tab:red", ls="--", label=f"threshold {threshold:.4f}")
    score_axis.set_ylabel("anomaly score")
    score_axis.set_xlabel("row")
    score_axis.legend(loc="upper left", fontsize="small")
    return figure
