"""The NAB detector on one series: fit its learned parts on the first rows, score every row.

No Kedro, no MLflow: Dask workers run :func:`detect_series`, which calls
:func:`fit_detector` and :func:`raw_scores`; ``nab_anomaly`` fits its LSTM-VAE
with :func:`fit_lstm_vae`. For a series of N rows with
P fitted rows (NAB's probationary period, min(floor(0.15 N), 750); or a user's
training rows), docs/algorithms.md section 6:

1. each learned part is fitted on rows 0..P-1 only and never retrained:
   the LSTM-VAE (section 1's model) on windows of those rows; the next-value
   network on those rows' features (``nab.next_value``);
2. every row gets a raw score per part, from that row and earlier ones: the
   LSTM-VAE's negative log-likelihood of the row at the last step of the window
   ending at it; the next-value network's negative log-likelihood of the row's
   change, predicted from earlier rows;
3. ``nab.scoring`` turns the raw scores into one score in [0, 1] (likelihood,
   combination, the out-of-range rule); rows before P score 0.
"""

from __future__ import annotations

import contextlib
import random
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from advanced_dl.features.series import (
    causal_scores,
    fit_standard_scaler,
    scale_values,
    sliding_windows,
)
from advanced_dl.nab.next_value import (
    NextValueScaler,
    feature_count,
    fit_next_value_scaler,
    negative_log_likelihood,
    next_value_features,
)
from advanced_dl.nab.scoring import detector_scores, learned_scores, unit_interval_scores
from advanced_dl.nab.settings import (
    DetectorSettings,
    LabelFreeThresholdSettings,
    LstmVaeSettings,
    ModelParameters,
    NextValueSettings,
    ScoringSettings,
    ThresholdParameters,
    TrainingParameters,
)


@dataclass(frozen=True)
class SeriesTask:
    """What one worker needs: a series in file order and the detector's settings."""

    name: str  # "<category>/<file>.csv"
    values: np.ndarray  # (N,) float64
    timestamps: np.ndarray  # (N,) datetime64
    fitted_rows: int  # P: the rows the parts are fitted on
    seed: int  # the series' own seed (series_seed), so worker count never matters
    settings: DetectorSettings


@dataclass
class FittedDetector:
    """The fitted learned parts of one series (Keras models and their scalers)."""

    settings: DetectorSettings
    lstm_vae: Any = None  # keras.Model: windows -> per-step log-likelihood
    lstm_vae_scaler: dict[str, float] | None = None
    next_value: Any = None  # keras.Model: features -> (location, scale)
    next_value_scaler: NextValueScaler | None = None
    fit_seconds: float = 0.0


@dataclass(frozen=True)
class SeriesDetection:
    """What one worker returns: raw scores per learned part, and timings."""

    name: str
    raw_scores: dict[str, np.ndarray]  # part -> (N,) negative log-likelihood, NaN without context
    fit_seconds: float
    seconds: float  # the whole task


def series_seed(seed: int, name: str) -> int:
    """A seed per series from the run's seed and the series' name (stable across processes)."""
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % 2**31


def single_threaded_tensorflow() -> None:
    """One thread and deterministic kernels, so a task's numbers never depend on its worker."""
    import tensorflow as tf

    # Each series has models of its own whose prediction is traced anew: that
    # retracing is expected here, and TensorFlow's warning about it is noise.
    tf.get_logger().setLevel("ERROR")

    try:  # only possible before TensorFlow's runtime starts in this process
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    tf.config.experimental.enable_op_determinism()


@contextlib.contextmanager
def seeded_task(seed: int) -> Iterator[None]:
    """Seed Keras for one task, out of reach of the worker's other threads.

    Keras seeds every initializer and sampling layer from ``random.randint``
    when it is built. A Dask worker's own threads draw from the same global
    ``random`` at times of their own, so, seeded globally, the same series could
    start from other weights depending on what else the worker did. Within the
    task, ``random.randint`` is a generator of the task's own.
    """
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    shared_randint = random.randint
    random.randint = random.Random(seed).randint
    try:
        yield
    finally:
        random.randint = shared_randint
        keras.backend.clear_session()


def split_windows(
    windows: np.ndarray, validation_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Random train/validation split of (n, look_back, 1) windows (seeded).

    Returns:
        (n_train, look_back, 1), (n_validation, look_back, 1) with
        n_validation = round(validation_fraction * n), at least 1.
    """
    if len(windows) < 2:
        raise ValueError(f"Need at least 2 training windows to split, got {len(windows)}")
    order = np.random.default_rng(seed).permutation(len(windows))
    n_validation = min(max(1, round(validation_fraction * len(windows))), len(windows) - 1)
    return windows[order[n_validation:]], windows[order[:n_validation]]


def fit_lstm_vae(
    train_windows: np.ndarray,
    validation_windows: np.ndarray,
    model_params: ModelParameters,
    training_params: TrainingParameters,
    verbose: int = 2,
    seed: int | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Build the LSTM-VAE and fit it with the "hold then decay" schedule.

    Args:
        train_windows: (n_train, look_back, 1); validation_windows: (n_validation, look_back, 1).
        verbose: Keras' fit verbosity (2: a line per epoch; 0: silent).
        seed: seed of the sampling noise (None: drawn from Keras' global seed).

    Returns:
        The fitted ``keras.Model`` (windows -> per-step log-likelihood
        (batch, look_back)) and the training history (per-epoch ``loss``,
        ``val_loss``, ``learning_rate``, plus ``fit_seconds``, ``epochs_trained``).
    """
    from advanced_dl.models.lstm_vae import build_lstm_vae
    from advanced_dl.training import distribution_scope, fit_with_training_params

    training = training_params.model_dump()
    with distribution_scope(training["distribution"]):
        model = build_lstm_vae(
            look_back=train_windows.shape[1],
            input_dim=train_windows.shape[2],
            **model_params.model_dump(),
            learning_rate=training["learning_rate"],
            seed=seed,
        )
    result = fit_with_training_params(
        model,
        train_windows,
        validation_data=(validation_windows, None),
        training_params=training,
        verbose=verbose,
    )
    return model, result.as_metrics()


def _fit_lstm_vae_part(
    values: np.ndarray, settings: LstmVaeSettings, seed: int
) -> tuple[Any, dict[str, float], float]:
    scaler = fit_standard_scaler(values)
    train, validation = split_windows(
        sliding_windows(scale_values(values, scaler), settings.look_back).copy(),
        settings.training.validation_fraction,
        seed,
    )
    model, history = fit_lstm_vae(
        train, validation, settings.model, settings.training, verbose=0, seed=seed
    )
    return model, scaler, float(history["fit_seconds"])


def _fit_next_value_part(
    values: np.ndarray, timestamps: np.ndarray, settings: NextValueSettings
) -> tuple[Any, NextValueScaler, float]:
    from advanced_dl.models.next_value import build_next_value_model

    scaler = fit_next_value_scaler(values, timestamps)
    rows = np.arange(settings.look_back, len(values))
    features, targets = next_value_features(values, timestamps, rows, settings.look_back, scaler)
    model = build_next_value_model(
        n_features=feature_count(settings.look_back),
        hidden_units=settings.hidden_units,
        hidden_layers=settings.hidden_layers,
        scale_floor=settings.scale_floor,
        learning_rate=settings.learning_rate,
    )
    start = time.perf_counter()
    model.fit(
        features,
        targets,
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        shuffle=True,
        verbose=0,
    )
    return model, scaler, time.perf_counter() - start


def fit_detector(
    values: np.ndarray, timestamps: np.ndarray, settings: DetectorSettings, seed: int
) -> FittedDetector:
    """Fit every learned part on (n,) values and timestamps: the series' first rows.

    Raises:
        ValueError: fewer rows than a part needs (``look_back`` + 2).
    """
    if len(values) < settings.context_rows + 2:
        raise ValueError(
            f"{len(values)} rows to fit on; the detector needs at least "
            f"{settings.context_rows + 2} (its longest look_back + 2)"
        )
    fitted = FittedDetector(settings=settings)
    if settings.lstm_vae is not None:
        fitted.lstm_vae, fitted.lstm_vae_scaler, seconds = _fit_lstm_vae_part(
            values, settings.lstm_vae, seed
        )
        fitted.fit_seconds += seconds
    if settings.next_value is not None:
        fitted.next_value, fitted.next_value_scaler, seconds = _fit_next_value_part(
            values, timestamps, settings.next_value
        )
        fitted.fit_seconds += seconds
    return fitted


def raw_scores(
    fitted: FittedDetector, values: np.ndarray, timestamps: np.ndarray
) -> dict[str, np.ndarray]:
    """Each learned part's raw score of every row, from that row and earlier ones.

    Returns:
        ``{part: (N,) float64}``: negative log-likelihoods, NaN where a row has
        fewer earlier rows than the part's ``look_back`` needs.
    """
    values = np.asarray(values, dtype="float64")
    scores = {}
    if fitted.lstm_vae is not None:
        scaled = scale_values(values, fitted.lstm_vae_scaler)
        scores["lstm_vae"] = causal_scores(
            fitted.lstm_vae, scaled, fitted.settings.lstm_vae.look_back
        )
    if fitted.next_value is not None:
        look_back = fitted.settings.next_value.look_back
        nll = np.full(len(values), np.nan)
        rows = np.arange(look_back, len(values))
        if rows.size:
            features, targets = next_value_features(
                values, timestamps, rows, look_back, fitted.next_value_scaler
            )
            # One batch: one input shape per call, so the prediction is traced once.
            prediction = fitted.next_value.predict(features, batch_size=len(rows), verbose=0)
            nll[rows] = negative_log_likelihood(prediction, targets)
        scores["next_value"] = nll
    return scores


def label_free_threshold(
    probationary_raw: dict[str, np.ndarray],
    scoring: ScoringSettings,
    fence: LabelFreeThresholdSettings,
) -> float:
    """A series' threshold from its fitted rows alone: no label is read.

    Tukey's fence (``quantile`` + ``iqr_multiplier`` x IQR) over the learned
    scores of the fitted rows, each against the fitted rows before it, and never
    below the score of a z of ``min_z`` (a tail probability that small is rare
    in any series).
    """
    scores = learned_scores(probationary_raw, scoring, fitted_rows=0)
    scored = scores[scores > 0]  # rows with a likelihood (enough history)
    floor = float(unit_interval_scores(np.array([fence.min_z]))[0])
    if scored.size == 0:
        return floor
    return max(tukey_fence(scored, fence), floor)


def continuation_scores(
    fitted: FittedDetector,
    fitted_values: np.ndarray,
    fitted_timestamps: np.ndarray,
    values: np.ndarray,
    timestamps: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Anomaly scores in [0, 1] of (n,) rows that follow the (P,) rows the detector was
    fitted on, and the series' label-free threshold from those P rows.

    The series is the fitted rows and then the new ones, scored as the corpus
    run scores a series whose first P rows are probationary (raw scores,
    likelihood over the history, combination, out-of-range rule), and its
    threshold set as the corpus run sets it (:func:`label_free_threshold` of the
    fitted rows' raw scores). The ``nab_anomaly`` run on a user's own series and
    its served model both call this, so a row scores the same in either. Causal:
    a row's score reads that row and earlier ones.

    Returns:
        (n,) float64 in [0, 1]; the threshold.
    """
    fitted_rows = len(fitted_values)
    series_values = np.concatenate(
        [np.asarray(fitted_values, dtype="float64"), np.asarray(values, dtype="float64")]
    )
    series_timestamps = np.concatenate(
        [
            np.asarray(fitted_timestamps, dtype="datetime64[ns]"),
            np.asarray(timestamps, dtype="datetime64[ns]"),
        ]
    )
    settings = fitted.settings
    raw = raw_scores(fitted, series_values, series_timestamps)
    scores = detector_scores(
        raw, series_values, fitted_rows, settings.scoring, settings.out_of_range
    )
    threshold = label_free_threshold(
        {part: part_scores[:fitted_rows] for part, part_scores in raw.items()},
        settings.scoring,
        settings.label_free_threshold,
    )
    return scores.anomaly_scores[fitted_rows:], threshold


def tukey_fence(scores: np.ndarray, fence: ThresholdParameters) -> float:
    """``quantile(scores, q) + iqr_multiplier * (Q3 - Q1)`` of (n,) finite scores.

    Raises:
        ValueError: no scores, or a score that is not finite.
    """
    scores = np.asarray(scores, dtype="float64")
    if scores.size == 0 or not np.isfinite(scores).all():
        raise ValueError("Scores must be a non-empty array of finite numbers")
    q1, q3 = np.quantile(scores, [0.25, 0.75])
    return float(np.quantile(scores, fence.quantile) + fence.iqr_multiplier * (q3 - q1))


def detect_series(task: SeriesTask) -> SeriesDetection:
    """Fit the detector on the series' first ``fitted_rows`` rows and score every row."""
    start = time.perf_counter()
    single_threaded_tensorflow()
    # Imported before seeding: a module's first import must not shift the seeds.
    import advanced_dl.models
    import advanced_dl.training  # noqa: F401

    with seeded_task(task.seed):
        values = np.asarray(task.values, dtype="float64")
        p = task.fitted_rows
        fitted = fit_detector(values[:p], task.timestamps[:p], task.settings, task.seed)
        scores = raw_scores(fitted, values, task.timestamps)
    return SeriesDetection(
        name=task.name,
        raw_scores=scores,
        fit_seconds=fitted.fit_seconds,
        seconds=time.perf_counter() - start,
    )
