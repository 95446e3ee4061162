"""Nodes of ``nab_anomaly``: the LSTM-VAE detector (docs/algorithms.md, sections 1 and 5).

Series tables have columns ``timestamp`` (datetime64) and ``value`` (float64);
the test table adds ``label`` (1 at a labelled anomaly timestamp) and
``window`` (index of the NAB window holding the row, -1 outside every window).
A row's anomaly score uses only the window of ``look_back`` rows ending at it;
scaling, windows, scores and flags come from ``advanced_dl.features.series``,
as in the served detector. Parameters arrive validated (``parameters.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.features.series import (
    causal_scores,
    fit_standard_scaler,
    flag_anomalies,
    last_step_scores,
    scale_values,
    sliding_windows,
    validate_series,
    window_log_likelihood,
)
from advanced_dl.nab import score as nab_score
from advanced_dl.nab.windows import LABELS_FILE, WINDOWS_FILE, labelled_rows, window_of_rows

logger = logging.getLogger(__name__)

NAMESPACE = "nab_anomaly"


def _check_series_name(parameter: str, name: str, known: list[str]) -> None:
    from advanced_dl.io.nab import UnknownSeriesError, close_matches_message

    if name not in known:
        message = close_matches_message(name, known, "NAB series")
        raise UnknownSeriesError(
            f"Parameter '{NAMESPACE}.{parameter}': {message} (names are '<category>/<file>.csv' "
            "as in labels/combined_labels.json)"
        )


def load_series(
    series: Mapping[str, Callable[[], pd.DataFrame]],
    labels: dict[str, list[str]],
    own_series_reader: Callable[[str], pd.DataFrame],
    train_series: str,
    test_series: str,
    train_first_row: int,
    train_last_row: int,
    look_back: int,
    accept_unordered_timestamps: bool,
    own_series: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fetch, check and type the training slice and the series to score.

    NAB's experiment (``own_series.path`` null): rows train_first_row..train_last_row
    of ``train_series`` to train on, the whole ``test_series`` to score. A user's
    own CSV (``own_series.path`` set): its first ``own_series.train_rows`` rows
    to train on, the rest to score.

    Args:
        series: ``{"<category>/<file>.csv": loader}``; a loader returns the raw CSV as strings.
        labels: ``combined_labels.json``, whose keys list every NAB series.
        own_series_reader: ``path -> raw CSV as strings``.
        train_first_row, train_last_row: the training slice, both rows included.
        look_back: window length; each series must hold at least one window.

    Returns:
        (train (n_train, 2), test (n, 2)) tables ``timestamp, value``. Raw files
        are read, never changed.

    Raises:
        UnknownSeriesError: a series name not in the corpus (close matches listed).
        FileNotFoundError: ``own_series.path`` names no file.
        ValueError: the training rows beyond the series, or a series that fails
            :func:`advanced_dl.features.series.validate_series`.
    """
    order_check = {"min_rows": look_back, "accept_unordered": accept_unordered_timestamps}
    if own_series["path"] is not None:
        return _own_train_and_test(own_series_reader, own_series, order_check)
    known = sorted(labels)
    _check_series_name("train_series", train_series, known)
    _check_series_name("test_series", test_series, known)

    train_file = f"nab/data/{train_series}"
    train_all = validate_series(series[train_series](), train_file, **order_check)
    if train_last_row >= len(train_all):
        raise ValueError(
            f"Parameter '{NAMESPACE}.train_last_row' must be a row of {train_file}, which has "
            f"{len(train_all)} rows; got {train_last_row}"
        )
    train = train_all.iloc[train_first_row : train_last_row + 1].reset_index(drop=True)
    test = validate_series(series[test_series](), f"nab/data/{test_series}", **order_check)
    logger.info(
        "Training rows %d..%d of %s; testing on %d rows of %s",
        train_first_row,
        train_last_row,
        train_series,
        len(test),
        test_series,
    )
    return train, test


def _own_train_and_test(
    own_series_reader: Callable[[str], pd.DataFrame],
    own_series: dict[str, Any],
    order_check: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    path, train_rows = own_series["path"], own_series["train_rows"]
    whole = validate_series(own_series_reader(path), path, **order_check)
    if len(whole) < train_rows + order_check["min_rows"]:
        raise ValueError(
            f"Parameter '{NAMESPACE}.own_series.train_rows' is {train_rows}, but {path} has "
            f"{len(whole)} rows; expected at least train_rows + look_back = "
            f"{train_rows + order_check['min_rows']} (rows to train on, then a window to score)"
        )
    logger.info(
        "Training on rows 0..%d of %s; scoring its %d other rows",
        train_rows - 1,
        path,
        len(whole) - train_rows,
    )
    return (
        whole.iloc[:train_rows].reset_index(drop=True),
        whole.iloc[train_rows:].reset_index(drop=True),
    )


def attach_labels(
    test_series_values: pd.DataFrame,
    labels: dict[str, list[str]],
    windows: dict[str, list[list[str]]],
    test_series: str,
    own_series: dict[str, Any],
) -> pd.DataFrame:
    """Mark labelled rows and NAB windows on the test series.

    A row's ``label`` is 1 when its timestamp is in the series' label list; a
    window ``[start, end]`` covers the rows whose timestamps lie in it, both ends
    included. A user's own series (``own_series.path`` set) has no labels: every
    row gets label 0 and window -1.

    Returns:
        (n, 4) table ``timestamp, value, label, window``.

    Raises:
        ValueError: the series has no entry in the labels or windows file.
    """
    if own_series["path"] is not None:
        return test_series_values.assign(label=np.int64(0), window=np.int64(-1))
    for what, table in ((LABELS_FILE, labels), (WINDOWS_FILE, windows)):
        if test_series not in table:
            raise ValueError(
                f"{what} has no entry for series {test_series!r}; expected one per series"
            )
    labelled = test_series_values.copy()
    labelled["label"] = labelled_rows(labelled["timestamp"], labels[test_series])
    missing = len(labels[test_series]) - int(labelled["label"].sum())
    if missing > 0:
        logger.warning(
            "%d labelled timestamps of %s are not rows of the series", missing, test_series
        )
    labelled["window"] = window_of_rows(labelled["timestamp"], windows[test_series], test_series)
    logger.info(
        "%s: %d labelled rows, %d windows",
        test_series,
        labelled["label"].sum(),
        len(windows[test_series]),
    )
    return labelled


def fit_scaler(train_series_values: pd.DataFrame) -> dict[str, float]:
    """Standard scaler fitted on the training values only: ``{"mean", "scale"}``."""
    return fit_standard_scaler(train_series_values["value"].to_numpy())


def scale_series(
    train_series_values: pd.DataFrame, test_series_values: pd.DataFrame, scaler: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Standardise both series with the training scaler: (n_train,), (n_test,) float32."""
    return (
        scale_values(train_series_values["value"].to_numpy(), scaler),
        scale_values(test_series_values["value"].to_numpy(), scaler),
    )


def make_windows(train_scaled: np.ndarray, look_back: int) -> np.ndarray:
    """Every window of ``look_back`` consecutive rows: (n - look_back + 1, look_back, 1).

    Window i is rows i..i+look_back-1. Unlike the reference, the last possible
    window is kept (the reference stops one window early).
    """
    return sliding_windows(train_scaled, look_back).copy()


def train_lstm_vae(
    train_windows: np.ndarray,
    validation_windows: np.ndarray,
    model_params: dict[str, Any],
    training_params: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """Build the LSTM-VAE and fit it with the "hold then decay" schedule
    (``nab.detector.fit_lstm_vae``, which the corpus detector fits too).

    Args:
        train_windows: (n_train, look_back, 1); validation_windows: (n_validation, look_back, 1).

    Returns:
        The fitted ``keras.Model`` (windows -> per-step log-likelihood
        (batch, look_back)) and the training history (per-epoch ``loss``,
        ``val_loss``, ``learning_rate``, plus ``fit_seconds``, ``epochs_trained``).
    """
    from advanced_dl.nab.detector import fit_lstm_vae
    from advanced_dl.nab.settings import ModelParameters, TrainingParameters

    return fit_lstm_vae(
        train_windows,
        validation_windows,
        ModelParameters.model_validate(model_params),
        TrainingParameters.model_validate(training_params),
    )


def score_validation_windows(trained_model: Any, validation_windows: np.ndarray) -> np.ndarray:
    """Each validation window's score, defined as for test rows: -log-likelihood of its last step.

    Returns:
        (n_validation,) float64.
    """
    return last_step_scores(window_log_likelihood(trained_model, validation_windows))


def score_test_rows(trained_model: Any, test_scaled: np.ndarray, look_back: int) -> np.ndarray:
    """Causal anomaly score of each test row: (n_test,) float64, NaN for the first look_back - 1.

    Row t's score is the negative log-likelihood of row t at the last step of
    the window of rows t - look_back + 1 .. t, so no later row is used.
    """
    return causal_scores(trained_model, test_scaled, look_back)


def choose_threshold(validation_scores: np.ndarray, threshold_params: dict[str, Any]) -> float:
    """Detection threshold from the validation scores alone (never from test labels).

    ``threshold = quantile(scores, q) + iqr_multiplier * (Q3 - Q1)``
    (``nab.detector.tukey_fence``); the defaults (q = 0.75, multiplier 3) are
    Tukey's "far out" fence. A multiplier of 0 gives the plain ``q`` quantile.
    """
    from advanced_dl.nab.detector import tukey_fence
    from advanced_dl.nab.settings import ThresholdParameters

    scores = np.asarray(validation_scores, dtype="float64")
    threshold = tukey_fence(scores, ThresholdParameters.model_validate(threshold_params))
    logger.info("Threshold %.4f from %d validation scores", threshold, scores.size)
    return threshold


def detect_anomalies(
    labelled_test_series: pd.DataFrame, test_scores: np.ndarray, threshold: float
) -> pd.DataFrame:
    """Flag rows whose score is >= threshold (rows without a score are never flagged).

    Returns:
        (n, 6) table ``timestamp, value, label, window, anomaly_score, is_anomaly``.
    """
    if len(test_scores) != len(labelled_test_series):
        raise ValueError(f"{len(test_scores)} scores for {len(labelled_test_series)} test rows")
    detections = labelled_test_series.copy()
    detections["anomaly_score"] = np.asarray(test_scores, dtype="float64")
    detections["is_anomaly"] = flag_anomalies(detections["anomaly_score"].to_numpy(), threshold)
    return detections


def window_rows(detections: pd.DataFrame) -> list[tuple[int, int]]:
    """First and last row of each NAB window present in the table, in order."""
    return nab_score.windows_from_column(detections["window"].to_numpy())


def evaluate_detections(
    test_detections: pd.DataFrame,
    threshold: float,
    own_series: dict[str, Any],
    *,
    detector: str = "LSTM-VAE",
) -> dict[str, float]:
    """Per-row and per-window metrics, and the NAB score under its three profiles.

    ``first_detection_delay_rows`` is the mean over windows of (first counted
    detection inside the window - the window's first labelled row, or its first
    row without a label); a missed window counts as ``R - label + 1`` (not
    before it closed). Detections in the probationary period are not counted.
    A user's own series has no labels: only ``rows_scored``, ``detections`` and
    ``threshold``.

    Returns:
        ``test_precision, test_recall, test_f1, windows_total, windows_detected,
        false_positive_detections, first_detection_delay_rows, nab_score_standard,
        nab_score_reward_low_fp, nab_score_reward_low_fn, threshold``.
    """
    if own_series["path"] is not None:
        metrics = {
            "rows_scored": float(test_detections["anomaly_score"].notna().sum()),
            "detections": float(test_detections["is_anomaly"].sum()),
            "threshold": float(threshold),
        }
        logger.info("nab_anomaly %s on the own series: %s", detector, metrics)
        return metrics
    from sklearn.metrics import f1_score, precision_score, recall_score

    detections = test_detections
    flags = detections["is_anomaly"].to_numpy(bool)
    labels = detections["label"].to_numpy()
    windows = window_rows(detections)
    counted = nab_score.scored_detections(flags)
    in_window = detections["window"].to_numpy() >= 0

    delays, detected = [], 0
    for left, right in windows:
        labelled = np.flatnonzero(labels[left : right + 1])
        anchor = left + (int(labelled[0]) if labelled.size else 0)
        hits = np.flatnonzero(counted[left : right + 1])
        if hits.size:
            detected += 1
            delays.append(left + int(hits[0]) - anchor)
        else:
            delays.append(right - anchor + 1)

    metrics = {
        "test_precision": float(precision_score(labels, flags, zero_division=0)),
        "test_recall": float(recall_score(labels, flags, zero_division=0)),
        "test_f1": float(f1_score(labels, flags, zero_division=0)),
        "windows_total": float(len(windows)),
        "windows_detected": float(detected),
        "false_positive_detections": float((counted & ~in_window).sum()),
        "first_detection_delay_rows": float(np.mean(delays)) if delays else 0.0,
        "threshold": float(threshold),
    }
    for profile in nab_score.PROFILES:
        metrics[f"nab_score_{profile}"] = nab_score.normalized_score(flags, windows, profile)
    logger.info("nab_anomaly %s test metrics: %s", detector, metrics)
    return metrics


def build_served_model(
    trained_model: Any,
    scaler: dict[str, float],
    look_back: int,
    threshold: float,
    test_series_values: pd.DataFrame,
    accept_unordered_timestamps: bool,
) -> Any:
    """Wrap the network as the detector users deploy (raw ``timestamp,value`` -> score, flag).

    The input example is the test series' first look_back + 1 rows, as raw strings
    and numbers like a CSV read with pandas.
    """
    from advanced_dl.serving.nab_anomaly import NabAnomalyDetector

    return NabAnomalyDetector(
        keras_model=trained_model,
        input_example=_raw_input_example(test_series_values.head(look_back + 1)),
        scaler=scaler,
        look_back=look_back,
        threshold=threshold,
        accept_unordered_timestamps=accept_unordered_timestamps,
    )


def split_corpus_detector_rows(
    train_series_values: pd.DataFrame,
    labelled_test_series: pd.DataFrame,
    own_series: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows the corpus detector is fitted on, and the rows it then scores.

    A user's own series: its training rows (label 0, window -1), then the rest,
    as for the LSTM-VAE. NAB's experiment: the test series alone, as the corpus
    run treats it: its probationary rows (min(floor(0.15 N), 750)), then the rest.

    Returns:
        (P, 4) and (n, 4) tables ``timestamp, value, label, window``.
    """
    if own_series["path"] is not None:
        fitted = train_series_values[["timestamp", "value"]].assign(
            label=np.int64(0), window=np.int64(-1)
        )
        return fitted, labelled_test_series
    fitted_rows = nab_score.probationary_rows(len(labelled_test_series))
    return (
        labelled_test_series.iloc[:fitted_rows].reset_index(drop=True),
        labelled_test_series.iloc[fitted_rows:].reset_index(drop=True),
    )


def fit_corpus_detector(
    corpus_detector_fitted_rows: pd.DataFrame, detector: dict[str, Any], seed: int
) -> Any:
    """Fit ``nab_benchmark``'s detector (``nab_benchmark.detector``) on the (P, 4) fitted rows.

    It draws its randomness from generators seeded for it, as each task of the
    corpus run does (``nab.detector.seeded_task``), then leaves the run's global
    generators as the run's seed set them: the textbook's LSTM-VAE, whichever
    node runs first, trains exactly as in a run without the corpus detector.

    Returns:
        :class:`advanced_dl.nab.detector.FittedDetector`.

    Raises:
        ValueError: fewer rows than the detector's longest look-back + 2.
    """
    from advanced_dl import runtime
    from advanced_dl.nab.detector import fit_detector, seeded_task
    from advanced_dl.nab.settings import DetectorSettings

    rows = corpus_detector_fitted_rows
    settings = DetectorSettings.model_validate(detector)
    with seeded_task(seed):
        fitted = fit_detector(
            rows["value"].to_numpy("float64"), rows["timestamp"].to_numpy(), settings, seed
        )
    runtime.seed_everything(seed)
    logger.info("Corpus detector fitted on %d rows in %.1f s", len(rows), fitted.fit_seconds)
    return fitted


def score_corpus_detector_rows(
    corpus_detector: Any,
    corpus_detector_fitted_rows: pd.DataFrame,
    corpus_detector_scored_rows: pd.DataFrame,
    own_series: dict[str, Any],
) -> tuple[pd.DataFrame, float]:
    """Score the rows after the fitted ones, and flag them at the series' threshold.

    The threshold is ``own_series.threshold`` when set, else the series'
    label-free threshold from its fitted rows (``nab.detector.continuation_scores``).

    Returns:
        The (P + n, 6) table ``timestamp, value, label, window, anomaly_score,
        is_anomaly`` of the fitted rows (score NaN, never flagged) and the scored
        rows (score in [0, 1]), and the threshold.
    """
    from advanced_dl.nab.detector import continuation_scores

    fitted, scored = corpus_detector_fitted_rows, corpus_detector_scored_rows
    scores, label_free = continuation_scores(
        corpus_detector,
        fitted["value"].to_numpy("float64"),
        fitted["timestamp"].to_numpy(),
        scored["value"].to_numpy("float64"),
        scored["timestamp"].to_numpy(),
    )
    threshold = own_series.get("threshold")
    if own_series["path"] is None or threshold is None:
        threshold = label_free
    series = pd.concat([fitted, scored], ignore_index=True)
    series["anomaly_score"] = np.concatenate([np.full(len(fitted), np.nan), scores])
    series["is_anomaly"] = flag_anomalies(series["anomaly_score"].to_numpy(), threshold)
    logger.info(
        "Corpus detector: %d of %d rows flagged at threshold %.4f",
        series["is_anomaly"].sum(),
        len(scored),
        threshold,
    )
    return series, float(threshold)


def evaluate_corpus_detections(
    corpus_detector_detections: pd.DataFrame,
    corpus_detector_threshold: float,
    own_series: dict[str, Any],
) -> dict[str, float]:
    """:func:`evaluate_detections` of the corpus detector, each name prefixed ``corpus_detector_``.

    On NAB's experiment this is the corpus detector's NAB score on the test
    series at its label-free threshold, beside the LSTM-VAE's.
    """
    metrics = evaluate_detections(
        corpus_detector_detections,
        corpus_detector_threshold,
        own_series,
        detector="corpus detector",
    )
    return {f"corpus_detector_{name}": value for name, value in metrics.items()}


def _raw_input_example(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as a user sends them: timestamps as text, values as numbers."""
    return pd.DataFrame(
        {
            "timestamp": rows["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
            "value": rows["value"].to_numpy("float64"),
        }
    )


def build_corpus_detector_served_model(
    corpus_detector: Any,
    corpus_detector_fitted_rows: pd.DataFrame,
    corpus_detector_scored_rows: pd.DataFrame,
    corpus_detector_threshold: float,
    accept_unordered_timestamps: bool,
) -> Any:
    """Wrap the fitted corpus detector as a served model: raw rows that continue the
    series -> score in [0, 1], flag. Its input example is the first scored rows."""
    from advanced_dl.serving.nab_anomaly import NabCorpusDetector

    return NabCorpusDetector(
        corpus_detector,
        input_example=_raw_input_example(corpus_detector_scored_rows.head(10)),
        fitted_series=corpus_detector_fitted_rows[["timestamp", "value"]],
        threshold=corpus_detector_threshold,
        accept_unordered_timestamps=accept_unordered_timestamps,
    )


def choose_served_model(
    lstm_vae_served_model: Any, corpus_detector_served_model: Any, own_series: dict[str, Any]
) -> Any:
    """What the run serves: on a user's own series the corpus detector (the one that
    scored on NAB's corpus); on NAB's experiment the textbook's LSTM-VAE."""
    if own_series["path"] is not None:
        return corpus_detector_served_model
    return lstm_vae_served_model
