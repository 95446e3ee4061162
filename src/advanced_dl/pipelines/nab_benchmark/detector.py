"""The LSTM-VAE detector run on one NAB series under NAB's protocol (one Dask task).

No Kedro, no MLflow: Dask workers import this module and call
:func:`detect_series`. For a series of N rows with probationary period
P = min(floor(0.15 N), 750) (docs/algorithms.md, section 6):

1. the scaler and the LSTM-VAE are fitted on rows 0..P-1 only;
2. every row gets its raw score, the negative log-likelihood of its value at
   the last step of the window ending at it (``features.series.causal_scores``);
3. raw scores become anomaly scores in [0, 1) (``features.series.anomaly_scores``);
4. a row whose value leaves the range of every earlier value scores 1
   (``features.series.out_of_range_rows``; ``out_of_range: null`` turns this off);
5. rows before P are reported with score 0: the detector is still learning
   there, and NAB ignores their detections. So every reported score depends
   only on its row and earlier ones;
6. the label-free threshold comes from rows 0..P-1 only
   (:func:`label_free_threshold`): no label is read.
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

from advanced_dl import nab_score
from advanced_dl.features.series import (
    anomaly_scores,
    causal_scores,
    fit_standard_scaler,
    out_of_range_rows,
    scale_values,
    sliding_windows,
    unit_interval_scores,
)


@dataclass(frozen=True)
class SeriesTask:
    """What one worker needs: a series' values in file order and the detector's settings."""

    name: str  # "<category>/<file>.csv"
    values: np.ndarray  # (N,) float64
    seed: int  # the series' own seed (series_seed), so worker count never matters
    detector: dict[str, Any]  # validated: the schema's DetectorParameters, as a dict


@dataclass(frozen=True)
class SeriesDetection:
    """What one worker returns."""

    name: str
    lstm_vae_scores: np.ndarray  # (N,) in [0, 1): the model's part; 0 before P
    out_of_range: np.ndarray  # (N,) bool: rows scored 1 for leaving the earlier range
    raw_scores: np.ndarray  # (N,) negative log-likelihood; NaN for the first look_back - 1 rows
    label_free_threshold: float
    fit_seconds: float
    seconds: float  # the whole task: fit, scoring, thresholds

    @property
    def anomaly_scores(self) -> np.ndarray:
        """(N,) in [0, 1]: 1 where out of range, else the model's score; 0 before P."""
        return np.where(self.out_of_range, 1.0, self.lstm_vae_scores)


def series_seed(seed: int, name: str) -> int:
    """A seed per series from the run's seed and the series' name (stable across processes)."""
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % 2**31


def _single_threaded_tensorflow() -> None:
    import tensorflow as tf

    # Each series has a model of its own whose prediction is traced anew: that
    # retracing is expected here, and TensorFlow's warning about it is noise.
    tf.get_logger().setLevel("ERROR")

    try:  # only possible before TensorFlow's runtime starts in this process
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    tf.config.experimental.enable_op_determinism()


@contextlib.contextmanager
def _seeded_task(seed: int) -> Iterator[None]:
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


def label_free_threshold(probationary_raw: np.ndarray, settings: dict[str, Any]) -> float:
    """A series' threshold from its probationary rows alone: no label is read.

    Tukey's fence (``label_free_threshold.quantile`` + ``iqr_multiplier`` x IQR)
    over the anomaly scores of the probationary rows, each against the
    probationary rows before it, and never below the score of
    ``label_free_threshold.min_z`` (a tail probability that small is rare in
    any series).
    """
    from advanced_dl.pipelines.nab_anomaly.nodes import choose_threshold

    fence_settings = settings["label_free_threshold"]  # choose_threshold reads the fence keys
    scores = anomaly_scores(probationary_raw, **settings["scoring"])
    fence = choose_threshold(scores[np.isfinite(scores)], fence_settings)
    floor = float(unit_interval_scores(np.array([fence_settings["min_z"]]))[0])
    return max(fence, floor)


def detect_series(task: SeriesTask) -> SeriesDetection:
    """Fit the detector on the series' probationary rows and score every row.

    Returns:
        The series' anomaly scores (N,), raw scores (N,), label-free threshold and timings.
    """
    start = time.perf_counter()
    _single_threaded_tensorflow()
    # Imported before seeding: a module's first import must not shift the seeds.
    import advanced_dl.models.lstm_vae
    import advanced_dl.training  # noqa: F401

    with _seeded_task(task.seed):
        return _detect(task, start)


def _detect(task: SeriesTask, start: float) -> SeriesDetection:
    # The training is nab_anomaly's own; importing it here keeps TensorFlow out
    # of this module's import.
    from advanced_dl.pipelines.nab_anomaly.nodes import split_windows, train_lstm_vae

    settings = task.detector
    look_back = settings["look_back"]
    values = np.asarray(task.values, dtype="float64")
    probationary = nab_score.probationary_rows(len(values))

    scaler = fit_standard_scaler(values[:probationary])
    scaled = scale_values(values, scaler)
    train_windows, validation_windows = split_windows(
        sliding_windows(scaled[:probationary], look_back).copy(),
        settings["training"]["validation_fraction"],
        task.seed,
    )
    model, history = train_lstm_vae(
        train_windows,
        validation_windows,
        settings["model"],
        settings["training"],
        verbose=0,
        seed=task.seed,
    )
    raw = causal_scores(model, scaled, look_back)
    scores = anomaly_scores(raw, **settings["scoring"], fitted_rows=probationary)
    threshold = label_free_threshold(raw[:probationary], settings)
    lstm_vae_scores = np.nan_to_num(scores, nan=0.0)
    lstm_vae_scores[:probationary] = 0.0
    out_of_range = np.zeros(len(values), dtype=bool)
    if settings["out_of_range"] is not None:
        out_of_range = out_of_range_rows(values, **settings["out_of_range"])
    out_of_range[:probationary] = False
    return SeriesDetection(
        name=task.name,
        lstm_vae_scores=lstm_vae_scores,
        out_of_range=out_of_range,
        raw_scores=raw,
        label_free_threshold=threshold,
        fit_seconds=float(history["fit_seconds"]),
        seconds=time.perf_counter() - start,
    )
