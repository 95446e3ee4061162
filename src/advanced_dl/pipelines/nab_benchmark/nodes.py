"""Nodes of ``nab_benchmark``: the NAB detector over NAB's corpus (docs/algorithms.md, 6).

The corpus table holds every row of every selected series in file order, one
row per CSV line: ``series`` ("<category>/<file>.csv"), ``row`` (0-based line),
``timestamp``, ``value``, ``label`` (1 at a labelled anomaly timestamp) and
``window`` (index of the NAB window holding the row, -1 outside). Detection
adds a raw score per learned part (``raw_lstm_vae``, ``raw_next_value``);
scoring adds ``anomaly_score`` (in [0, 1]) and its two parts,
``learned_score`` (in [0, 1)) and ``out_of_range`` (rows scored 1 for a value
beyond the earlier range). Each series is one Dask task
(``advanced_dl.nab.detector.detect_series``); everything NAB-specific lives in
``advanced_dl.nab``. Parameters arrive validated (``parameters.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.features.series import InvalidSeriesError, flag_anomalies, validate_series
from advanced_dl.nab import score as nab_score
from advanced_dl.nab.detector import SeriesTask, detect_series, label_free_threshold, series_seed
from advanced_dl.nab.scoring import detector_scores, scores_under_settings
from advanced_dl.nab.selection import LabelledSeries, leave_one_category_out
from advanced_dl.nab.settings import DetectorSettings, SelectionGrid
from advanced_dl.nab.windows import LABELS_FILE, WINDOWS_FILE, labelled_rows, window_of_rows

from .parameters import series_selection

logger = logging.getLogger(__name__)

NAMESPACE = "nab_benchmark"
# The two parts of a row's anomaly score, each scored alone as well: which column holds it.
PARTS = {"learned": "learned_score", "out_of_range": "out_of_range"}
RAW_PREFIX = "raw_"  # raw_<part>: a learned part's raw score
# The scoreboard's ``source`` of this run's row (the published rows name their source).
THIS_RUN_SOURCE = "this run"


def select_series(
    labels: dict[str, list[str]], windows: dict[str, list[list[str]]], selection: str | list[str]
) -> list[str]:
    """The series to run: every series of the label files, or the names listed
    (a list, or one string of space-separated names).

    Raises:
        InvalidSeriesError: the two label files disagree on the series, or a
            selected name is in neither (close matches listed).
    """
    from advanced_dl.io.nab import close_matches_message

    only_labels, only_windows = (
        sorted(set(labels) - set(windows)),
        sorted(set(windows) - set(labels)),
    )
    if only_labels or only_windows:
        raise InvalidSeriesError(
            f"{LABELS_FILE} and {WINDOWS_FILE} must name the same series; only in the first: "
            f"{only_labels}, only in the second: {only_windows}"
        )
    known = sorted(labels)
    selection = series_selection(selection)
    if selection == "all":
        return known
    unknown = [name for name in selection if name not in labels]
    if unknown:
        raise InvalidSeriesError(
            f"Parameter '{NAMESPACE}.series': "
            + "; ".join(close_matches_message(name, known, "NAB series") for name in unknown)
        )
    return sorted(set(selection))


def load_corpus(
    series: Mapping[str, Callable[[], pd.DataFrame]],
    labels: dict[str, list[str]],
    windows: dict[str, list[list[str]]],
    series_selection: str | list[str],
    detector: dict[str, Any],
) -> pd.DataFrame:
    """Fetch, check and label every selected series, before any training.

    NAB's own repeated or backward timestamps are kept in file order
    (``accept_unordered``); windows map to rows by timestamp.

    Returns:
        (sum of N, 6) table ``series, row, timestamp, value, label, window``.

    Raises:
        InvalidSeriesError: a series missing from the label files or from the data,
            unparseable timestamps or values, a window without rows, or a series too
            short for the detector (fewer probationary rows than
            ``look_back + scoring.min_history_rows``); the message names the series.
    """
    names = select_series(labels, windows, series_selection)
    settings = DetectorSettings.model_validate(detector)
    needed = settings.context_rows + settings.scoring.min_history_rows
    tables = []
    for name in names:
        try:
            raw = series[name]()
        except (KeyError, OSError, RuntimeError) as error:
            raise InvalidSeriesError(
                f"{name}: named in {LABELS_FILE} but its data could not be read: {error}"
            ) from error
        table = validate_series(raw, f"nab/data/{name}", accept_unordered=True)
        probationary = nab_score.probationary_rows(len(table))
        if probationary < needed:
            raise InvalidSeriesError(
                f"nab/data/{name}: {len(table)} rows give a probationary period of "
                f"{probationary} rows; the detector trains and sets its label-free threshold "
                "there and needs at least its longest look_back + scoring.min_history_rows = "
                f"{needed}"
            )
        table.insert(0, "row", np.arange(len(table), dtype="int64"))
        table.insert(0, "series", name)
        table["label"] = labelled_rows(table["timestamp"], labels[name])
        table["window"] = window_of_rows(table["timestamp"], windows[name], name)
        tables.append(table)
    corpus = pd.concat(tables, ignore_index=True)
    logger.info(
        "NAB corpus: %d series, %d rows, %d windows",
        len(names),
        len(corpus),
        sum(len(windows[name]) for name in names),
    )
    return corpus


def detect_corpus(
    corpus_series: pd.DataFrame,
    detector: dict[str, Any],
    dask: dict[str, Any],
    seed: int,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Fit the learned parts on each series' probationary rows and score every row,
    one Dask task per series.

    Each series gets its own seed from ``seed`` and its name, and each worker
    runs TensorFlow on one thread, so the scores do not depend on the number of
    workers.

    Returns:
        - the corpus table plus ``raw_<part>`` per learned part (sum of N, 6 + parts);
        - timings: ``wall_seconds`` (all tasks, cluster start included),
          ``fit_seconds`` (summed over series), ``mean_series_seconds``, ``workers``.
    """
    from advanced_dl.fanout.cluster import local_workers, map_tasks

    settings = DetectorSettings.model_validate(detector)
    groups = dict(tuple(corpus_series.groupby("series", sort=True)))
    tasks = [
        SeriesTask(
            name=name,
            values=table["value"].to_numpy("float64"),
            timestamps=table["timestamp"].to_numpy("datetime64[ns]"),
            fitted_rows=nab_score.probationary_rows(len(table)),
            seed=series_seed(seed, name),
            settings=settings,
        )
        for name, table in groups.items()
    ]
    start = time.perf_counter()
    results = map_tasks(
        detect_series,
        tasks,
        workers=dask["workers"],
        address=dask["scheduler_address"],
        keys=list(groups),
        description="NAB series",
    )
    wall_seconds = time.perf_counter() - start
    detections = []
    for (_, table), result in zip(groups.items(), results, strict=True):
        scored = table.copy()
        for part, raw in result.raw_scores.items():
            scored[RAW_PREFIX + part] = raw
        detections.append(scored)
    timings = {
        "wall_seconds": wall_seconds,
        "fit_seconds": float(sum(r.fit_seconds for r in results)),
        "mean_series_seconds": float(np.mean([r.seconds for r in results])),
        "workers": float(local_workers(dask["workers"], dask["scheduler_address"])),
    }
    logger.info("Detection timings: %s", timings)
    return pd.concat(detections, ignore_index=True), timings


def _raw_parts(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """``{part: (N,) raw scores}`` from a series' ``raw_<part>`` columns."""
    return {
        column.removeprefix(RAW_PREFIX): table[column].to_numpy("float64")
        for column in table.columns
        if column.startswith(RAW_PREFIX)
    }


def score_corpus(
    corpus_raw_scores: pd.DataFrame, detector: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Raw scores -> anomaly scores with the configured settings; label-free thresholds.

    Returns:
        - the table plus ``learned_score``, ``out_of_range`` and ``anomaly_score``;
        - ``{series: label-free threshold}``, from its probationary rows alone.
    """
    settings = DetectorSettings.model_validate(detector)
    tables, thresholds = [], {}
    for name, table in corpus_raw_scores.groupby("series", sort=True):
        raw = _raw_parts(table)
        probationary = nab_score.probationary_rows(len(table))
        scores = detector_scores(
            raw,
            table["value"].to_numpy("float64"),
            probationary,
            settings.scoring,
            settings.out_of_range,
        )
        scored = table.copy()
        scored["learned_score"] = scores.learned
        scored["out_of_range"] = scores.out_of_range
        scored["anomaly_score"] = scores.anomaly_scores
        tables.append(scored)
        thresholds[name] = label_free_threshold(
            {part: scores_of_part[:probationary] for part, scores_of_part in raw.items()},
            settings.scoring,
            settings.label_free_threshold,
        )
    return pd.concat(tables, ignore_index=True), thresholds


def cross_category_scores(
    corpus_raw_scores: pd.DataFrame, detector: dict[str, Any], selection: dict[str, Any]
) -> tuple[dict[str, float], pd.DataFrame]:
    """Leave one category out: each category scored with the settings and threshold
    chosen on the other categories (``advanced_dl.nab.selection``), per profile.

    Returns:
        - ``corpus_score_{profile}_cross_category``: the corpus score of the held-out scores;
        - (profiles x categories, 10) table ``profile, held_out, average_rows,
          history_rows, new_high_rows, combine, out_of_range_tolerance, out_of_range_cooldown_rows,
          threshold, held_out_raw``: what each fold chose and what it scored.
    """
    settings = DetectorSettings.model_validate(detector)
    grid = SelectionGrid.model_validate(selection).combinations(settings)
    options = [(option.scoring, option.out_of_range) for option in grid]
    corpus = [
        LabelledSeries(
            name=name,
            windows=nab_score.windows_from_column(table["window"].to_numpy()),
            scores=scores_under_settings(
                _raw_parts(table),
                table["value"].to_numpy("float64"),
                nab_score.probationary_rows(len(table)),
                options,
            ),
        )
        for name, table in corpus_raw_scores.groupby("series", sort=True)
    ]
    metrics, rows = {}, []
    for profile in nab_score.PROFILES:
        result = leave_one_category_out(corpus, grid, profile)
        metrics[f"corpus_score_{profile}_cross_category"] = result.normalized
        for category, choice in result.choices.items():
            rule = choice.settings.out_of_range
            rows.append(
                {
                    "profile": profile,
                    "held_out": category,
                    "average_rows": choice.settings.scoring.average_rows,
                    "history_rows": choice.settings.scoring.history_rows,
                    "new_high_rows": choice.settings.scoring.new_high_rows,
                    "combine": choice.settings.scoring.combine,
                    "out_of_range_tolerance": None if rule is None else rule.tolerance,
                    "out_of_range_cooldown_rows": None if rule is None else rule.cooldown_rows,
                    "threshold": choice.threshold,
                    "held_out_raw": result.held_out_raw[category],
                }
            )
    logger.info("Leave one category out: %s", metrics)
    return metrics, pd.DataFrame(rows)


def corpus_scores(
    corpus_detections: pd.DataFrame, column: str = "anomaly_score"
) -> dict[str, nab_score.SeriesScores]:
    """``{series: its scores (``column``) and windows}`` in the form ``nab_score`` takes."""
    return {
        name: nab_score.SeriesScores(
            scores=table[column].to_numpy("float64"),
            windows=nab_score.windows_from_column(table["window"].to_numpy()),
        )
        for name, table in corpus_detections.groupby("series", sort=True)
    }


def choose_corpus_thresholds(corpus_detections: pd.DataFrame) -> dict[str, float]:
    """NAB's threshold per profile: the one value for the whole corpus maximising its raw score.

    Returns:
        ``{profile: threshold}`` for ``standard``, ``reward_low_fp``, ``reward_low_fn``.
    """
    corpus = list(corpus_scores(corpus_detections).values())
    thresholds = {}
    for profile in nab_score.PROFILES:
        choice = nab_score.sweep_thresholds(corpus, profile)
        thresholds[profile] = choice.threshold
        logger.info("%s: threshold %.6f, score %.2f", profile, choice.threshold, choice.normalized)
    return thresholds


def summarise_series(
    corpus_detections: pd.DataFrame,
    corpus_thresholds: dict[str, float],
    label_free_thresholds: dict[str, float],
) -> pd.DataFrame:
    """One row per series under the corpus standard threshold and under its label-free one.

    Returns:
        (series count, 12) table ``series, category, rows, windows, windows_detected,
        false_positives, raw_standard, null_standard, perfect_standard,
        raw_standard_label_free, label_free_threshold, score_standard`` (the
        series' own normalised standard score, NaN without windows).
    """
    threshold = corpus_thresholds["standard"]
    rows = []
    for name, series in corpus_scores(corpus_detections).items():
        counted = nab_score.scored_detections(flag_anomalies(series.scores, threshold))
        in_window = np.zeros(len(counted), dtype=bool)
        for left, right in series.windows:
            in_window[left : right + 1] = True
        label_free = flag_anomalies(series.scores, label_free_thresholds[name])
        raw = nab_score.raw_score(counted, series.windows, "standard")
        null = nab_score.null_score(series.windows, "standard")
        perfect = nab_score.perfect_score(series.windows, "standard")
        rows.append(
            {
                "series": name,
                "category": name.split("/", 1)[0],
                "rows": len(counted),
                "windows": len(series.windows),
                "windows_detected": sum(
                    bool(counted[lo : hi + 1].any()) for lo, hi in series.windows
                ),
                "false_positives": int((counted & ~in_window).sum()),
                "raw_standard": raw,
                "null_standard": null,
                "perfect_standard": perfect,
                "raw_standard_label_free": nab_score.raw_score(
                    label_free, series.windows, "standard"
                ),
                "label_free_threshold": label_free_thresholds[name],
                "score_standard": nab_score.normalize(raw, null, perfect),
            }
        )
    return pd.DataFrame(rows)


def evaluate_corpus(
    corpus_detections: pd.DataFrame,
    corpus_thresholds: dict[str, float],
    series_summary: pd.DataFrame,
    detection_timings: dict[str, float],
    cross_category: dict[str, float],
) -> dict[str, float]:
    """The corpus scores NAB reports, normalised over the corpus, and the run's timings.

    Returns:
        ``corpus_score_{standard,reward_low_fp,reward_low_fn}``,
        ``corpus_score_standard_label_free``, ``threshold_{profile}``,
        ``corpus_score_standard_learned_alone`` and
        ``corpus_score_standard_out_of_range_alone`` (each part of the score
        on its own, with a threshold of its own chosen the same way),
        ``corpus_score_{profile}_cross_category`` (``cross_category_scores``),
        ``series_scored``, ``windows_total``, ``windows_detected``,
        ``false_positives`` (standard threshold), ``score_standard_<category>``,
        and ``wall_seconds``, ``fit_seconds``, ``mean_series_seconds``, ``workers``.
    """
    corpus = list(corpus_scores(corpus_detections).values())
    metrics: dict[str, float] = {}
    for profile, threshold in corpus_thresholds.items():
        raw = null = perfect = 0.0
        for series in corpus:
            raw += nab_score.raw_score(
                flag_anomalies(series.scores, threshold), series.windows, profile
            )
            null += nab_score.null_score(series.windows, profile)
            perfect += nab_score.perfect_score(series.windows, profile)
        metrics[f"corpus_score_{profile}"] = nab_score.normalize(raw, null, perfect)
        metrics[f"threshold_{profile}"] = float(threshold)
    for part, column in PARTS.items():
        part_corpus = list(corpus_scores(corpus_detections, column).values())
        metrics[f"corpus_score_standard_{part}_alone"] = nab_score.sweep_thresholds(
            part_corpus, "standard"
        ).normalized
    summary = series_summary
    metrics["corpus_score_standard_label_free"] = nab_score.normalize(
        summary["raw_standard_label_free"].sum(),
        summary["null_standard"].sum(),
        summary["perfect_standard"].sum(),
    )
    for category, group in summary.groupby("category", sort=True):
        if group["windows"].sum():
            metrics[f"score_standard_{category}"] = nab_score.normalize(
                group["raw_standard"].sum(),
                group["null_standard"].sum(),
                group["perfect_standard"].sum(),
            )
    metrics["series_scored"] = float(len(summary))
    metrics["windows_total"] = float(summary["windows"].sum())
    metrics["windows_detected"] = float(summary["windows_detected"].sum())
    metrics["false_positives"] = float(summary["false_positives"].sum())
    metrics.update({k: float(v) for k, v in cross_category.items()})
    metrics.update({k: float(v) for k, v in detection_timings.items()})
    logger.info("nab_benchmark metrics: %s", metrics)
    return metrics


def nab_results_tables(
    corpus_detections: pd.DataFrame, detector_name: str
) -> dict[str, pd.DataFrame]:
    """The detections in NAB's results format, one table per series.

    Keys are ``<detector>/<category>/<detector>_<file>.csv`` and tables have
    NAB's columns ``timestamp, value, anomaly_score, label``, where ``label`` is
    1 inside a NAB window, as in NAB's own results files.
    """
    tables = {}
    for name, table in corpus_detections.groupby("series", sort=True):
        category, file_name = name.split("/", 1)
        tables[f"{detector_name}/{category}/{detector_name}_{file_name}"] = pd.DataFrame(
            {
                "timestamp": table["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
                "value": table["value"].to_numpy("float64"),
                "anomaly_score": table["anomaly_score"].to_numpy("float64"),
                "label": (table["window"].to_numpy() >= 0).astype("int64"),
            }
        )
    return tables


def build_scoreboard(
    test_metrics: dict[str, float], published_scores: list[dict[str, Any]], detector_name: str
) -> pd.DataFrame:
    """This run among NAB's published detectors, best standard score first.

    Returns:
        (len(published_scores) + 1, 5) table ``detector, standard, reward_low_fp,
        reward_low_fn, source``; a published score NAB does not give is NaN.
    """
    ours = {
        "detector": f"{detector_name} (this run)",
        "standard": test_metrics["corpus_score_standard"],
        "reward_low_fp": test_metrics["corpus_score_reward_low_fp"],
        "reward_low_fn": test_metrics["corpus_score_reward_low_fn"],
        "source": THIS_RUN_SOURCE,
    }
    table = pd.DataFrame([*published_scores, ours])
    table = table.reindex(
        columns=["detector", "standard", "reward_low_fp", "reward_low_fn", "source"]
    )
    return table.sort_values("standard", ascending=False, ignore_index=True)
