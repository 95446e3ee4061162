"""Training loop pieces shared by the pipelines (no Kedro, Keras imported lazily)."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DISTRIBUTIONS = ("none", "mirrored")

EpochObserver = Callable[[int, dict[str, float]], None]
_EPOCH_OBSERVERS: contextvars.ContextVar[tuple[EpochObserver, ...]] = contextvars.ContextVar(
    "epoch_observers", default=()
)


@contextlib.contextmanager
def observe_epochs(observer: EpochObserver) -> Iterator[None]:
    """Call ``observer(epoch, logs)`` after every epoch any fit in this context trains.

    ``logs`` holds the epoch's Keras names (``loss``, ``val_loss``,
    ``val_accuracy``, ...). A sweep reports each epoch's validation metric to
    its study this way, and prunes a trial by raising from the observer; the
    nodes that train know nothing of it.
    """
    token = _EPOCH_OBSERVERS.set((*_EPOCH_OBSERVERS.get(), observer))
    try:
        yield
    finally:
        _EPOCH_OBSERVERS.reset(token)


def notify_epoch(epoch: int, logs: dict[str, float]) -> None:
    """Tell the observers of :func:`observe_epochs` that ``epoch`` (0-based) ended."""
    for observer in _EPOCH_OBSERVERS.get():
        observer(epoch, logs)


def epoch_observer_callback() -> Any:
    """A Keras callback calling :func:`notify_epoch`, or None when nothing observes."""
    if not _EPOCH_OBSERVERS.get():
        return None
    import keras

    return keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: notify_epoch(epoch, dict(logs or {}))
    )


def hold_then_decay(hold_epochs: int = 4, decay_rate: float = 0.1) -> Callable[[int, float], float]:
    """Reference schedule: rate held for ``hold_epochs`` epochs, then x exp(-decay_rate) each."""
    if hold_epochs < 0 or decay_rate < 0:
        raise ValueError(
            f"hold_epochs and decay_rate must be >= 0, got {hold_epochs} and {decay_rate}"
        )

    def schedule(epoch: int, learning_rate: float) -> float:
        if epoch < hold_epochs:
            return float(learning_rate)
        return float(learning_rate * math.exp(-decay_rate))

    return schedule


def cosine_decay(learning_rate: float, total_steps: int) -> Any:
    """Rate decayed every step from ``learning_rate`` to 0 along a half cosine.

    Annealing to 0 by the last step lets a model that overfits within a few
    epochs end at a settled point instead of mid-stride.
    """
    import keras

    return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(total_steps, 1))


def learning_rate_for(training_params: dict[str, Any], n_examples: int) -> Any:
    """The optimizer's learning rate: a number, or the cosine schedule over the whole fit."""
    rate = training_params["learning_rate"]
    if training_params.get("schedule", "hold_then_decay") != "cosine":
        return rate
    steps_per_epoch = math.ceil(n_examples / training_params["batch_size"])
    return cosine_decay(rate, steps_per_epoch * training_params["epochs"])


@contextlib.contextmanager
def distribution_scope(distribution: str = "none") -> Iterator[Any]:
    """Build and compile models inside this scope to train them with ``distribution``.

    ``"none"``: one device, Keras' default. ``"mirrored"``:
    ``tf.distribute.MirroredStrategy`` over every visible GPU (data parallel on one
    host; each batch is split between the replicas and gradients are summed), or
    over every logical CPU device when no GPU is visible. Multi-worker training
    is not offered: it is broken under Keras 3 (keras-team/keras#20585).

    Yields the strategy, or None for ``"none"``.
    """
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    if distribution == "none":
        yield None
        return
    strategy = _mirrored_strategy()
    with strategy.scope():
        yield strategy


@functools.cache
def _mirrored_strategy() -> Any:
    # One per process: TensorFlow's collective ops clash between strategies of one process.
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
        d.name for d in tf.config.list_logical_devices("CPU")
    ]
    strategy = tf.distribute.MirroredStrategy(devices=devices)
    logger.info("MirroredStrategy over %d replicas: %s", strategy.num_replicas_in_sync, devices)
    return strategy


@dataclass
class TrainingResult:
    """What a fit produced besides the (best-weights) model."""

    history: dict[str, list[float]]  # per-epoch curves, Keras names (loss, val_loss, ...)
    fit_seconds: float
    epochs_trained: int
    best_epoch: int | None = None  # 0-based epoch whose weights were kept (restored)
    epoch_seconds: list[float] = field(default_factory=list)

    def as_metrics(self) -> dict[str, Any]:
        """The training history every pipeline logs, in ``MlflowMetricsJsonDataset``'s form.

        Per-epoch lists: the Keras curves (``loss``, ``val_loss``, ``accuracy``,
        ``val_accuracy``, ``learning_rate`` where present) and ``epoch_seconds``
        (wall time, validation included). Scalars: ``fit_seconds``,
        ``mean_epoch_seconds``, ``epochs_trained`` and ``best_epoch`` (0-based).
        """
        metrics: dict[str, Any] = {k: [float(v) for v in vals] for k, vals in self.history.items()}
        metrics["epoch_seconds"] = [float(s) for s in self.epoch_seconds]
        metrics["fit_seconds"] = float(self.fit_seconds)
        if self.epoch_seconds:
            metrics["mean_epoch_seconds"] = float(sum(self.epoch_seconds) / len(self.epoch_seconds))
        metrics["epochs_trained"] = self.epochs_trained
        if self.best_epoch is not None:
            metrics["best_epoch"] = self.best_epoch
        return metrics


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Wall time of each epoch, validation included."""

        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def fit_model(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    validation_data: Any = None,
    epochs: int,
    batch_size: int | None,
    hold_epochs: int = 4,
    decay_rate: float = 0.1,
    schedule: str = "hold_then_decay",
    early_stopping_patience: int | None = None,
    early_stopping_min_delta: float = 0.0,
    restore_best_weights: bool = True,
    monitor: str = "val_loss",
    shuffle: bool = True,
    verbose: int = 2,
    callbacks: Sequence[Any] = (),
    **fit_kwargs: Any,
) -> TrainingResult:
    """``model.fit`` with the reference schedule, optional early stopping and timing.

    ``verbose=2`` prints one line per epoch with its metrics. With early
    stopping, the weights of the best epoch by ``monitor`` are restored.
    ``schedule="cosine"``: the model's optimizer already carries
    :func:`cosine_decay`, so the per-epoch schedule is left out.
    """
    import keras

    timer = _epoch_timer()
    all_callbacks = []
    if schedule == "hold_then_decay":
        all_callbacks.append(
            keras.callbacks.LearningRateScheduler(hold_then_decay(hold_epochs, decay_rate))
        )
    elif schedule != "cosine":
        raise ValueError(f"schedule must be 'hold_then_decay' or 'cosine', got {schedule!r}")
    stopper = None
    if early_stopping_patience is not None:
        stopper = keras.callbacks.EarlyStopping(
            monitor=monitor,
            min_delta=early_stopping_min_delta,
            patience=early_stopping_patience,
            restore_best_weights=restore_best_weights,
            verbose=1 if verbose else 0,
        )
        all_callbacks.append(stopper)
    all_callbacks.extend(callbacks)
    all_callbacks.append(timer)
    observer = epoch_observer_callback()
    if observer is not None:
        all_callbacks.append(observer)

    start = time.perf_counter()
    history = model.fit(
        x,
        y,
        validation_data=validation_data,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        verbose=verbose,
        callbacks=all_callbacks,
        **fit_kwargs,
    )
    fit_seconds = time.perf_counter() - start
    curves = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    epochs_trained = len(timer.seconds)
    # The epoch whose weights the model keeps: the last one, unless early stopping
    # restored another. Keras counts an epoch as best only when it beats the best
    # by min_delta, so the restored epoch can precede the lowest value of ``monitor``.
    best_epoch = epochs_trained - 1 if epochs_trained else None
    if stopper is not None and restore_best_weights:
        best_epoch = int(stopper.best_epoch)
    return TrainingResult(
        history=curves,
        fit_seconds=fit_seconds,
        epochs_trained=epochs_trained,
        best_epoch=best_epoch,
        epoch_seconds=timer.seconds,
    )


#: ``training`` parameters ``fit_model`` takes under the same name (those a pipeline has).
FIT_PARAMETERS = (
    "epochs",
    "batch_size",
    "hold_epochs",
    "decay_rate",
    "schedule",
    "early_stopping_patience",
    "early_stopping_min_delta",
    "restore_best_weights",
)


def fit_with_training_params(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    validation_data: Any,
    training_params: dict[str, Any],
    verbose: int = 2,
) -> TrainingResult:
    """:func:`fit_model` configured by a pipeline's validated ``training`` parameters.

    The pipelines hand the fitted model to nodes that only predict, so its
    optimizer's state is released afterwards (:func:`release_optimizer_state`).
    """
    settings = {name: training_params[name] for name in FIT_PARAMETERS if name in training_params}
    result = fit_model(model, x, y, validation_data=validation_data, verbose=verbose, **settings)
    release_optimizer_state(model)
    return result


def release_optimizer_state(model: Any) -> None:
    """Recompile a fitted ``model`` with a fresh optimizer of the same settings, in place.

    For a model that from now on only predicts and is saved without its
    optimizer. Adam keeps two more copies of every weight (0.7 GiB for the tuned
    IMDB model's pair table) and the traced training step holds on to them;
    recompiling lets go of both, so the memory serves the nodes that follow.
    The new optimizer has no state until it trains, so the model can still be
    trained again. Weights, loss and metrics are unchanged.
    """
    import keras

    config = model.get_compile_config()
    if not config:  # not compiled: nothing to release
        return
    # Deserialised, every compile argument is a new object; compile_from_config would
    # build the new optimizer's state at once, which is what this releases.
    model.compile(**keras.saving.deserialize_keras_object(config))


class CheckpointBusyError(RuntimeError):
    """Another process is training into the same checkpoint folder."""


class CheckpointStore:
    """Where a long fit keeps its checkpoints, so a killed run resumes instead of restarting.

    Each fit has a ``key`` (a fingerprint of everything that shapes it: data,
    settings, seed), so a fit never resumes from another's checkpoint. Under
    ``<directory>/<key>/`` a checkpoint is a folder ``epoch-NNNN/`` (the whole
    Keras model, optimizer state included) and ``latest.json`` names the
    newest one with the history so far. A checkpoint becomes the latest only
    once it is complete (``latest.json`` is replaced atomically after the
    model is written), so a kill at any moment leaves the previous one usable.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    @contextlib.contextmanager
    def claim(self, key: str) -> Iterator[None]:
        """Hold ``key`` for this process; raise :class:`CheckpointBusyError` if another holds it."""
        import fcntl

        folder = self.directory / key
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CheckpointBusyError(
                    f"Another run is training with the same settings into {folder}; "
                    "wait for it to finish (then this run resumes from its checkpoint) "
                    "or change the seed or a parameter"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def latest(self, key: str) -> tuple[Path, dict[str, Any]] | None:
        """The newest complete checkpoint of ``key``: (model path, progress), or None."""
        pointer = self.directory / key / "latest.json"
        if not pointer.is_file():
            return None
        progress = json.loads(pointer.read_text())
        model_path = self.directory / key / progress["folder"] / "model.keras"
        if not model_path.is_file():
            logger.warning(
                "Checkpoint %s lists %s, which is missing: starting over", pointer, model_path
            )
            return None
        return model_path, progress

    def save(self, key: str, model: Any, epochs_done: int, history: dict[str, list[float]]) -> Path:
        """Write ``model`` as the checkpoint after ``epochs_done`` epochs; drop older ones."""
        folder_name = f"epoch-{epochs_done:04d}"
        root = self.directory / key
        staging = root / f".tmp-{folder_name}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        model.save(str(staging / "model.keras"))
        final = root / folder_name
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        progress = {"folder": folder_name, "epochs_done": epochs_done, "history": history}
        pointer_staging = root / ".latest.json.tmp"
        pointer_staging.write_text(json.dumps(progress))
        os.replace(pointer_staging, root / "latest.json")
        for older in root.glob("epoch-*"):
            if older.name != folder_name:
                shutil.rmtree(older, ignore_errors=True)
        return final


def checkpoint_callback(store: CheckpointStore, key: str, history: dict[str, list[float]]) -> Any:
    """A Keras callback saving a checkpoint to ``store`` after every epoch.

    ``history`` holds the curves of the epochs before this fit started (a
    resumed fit); each epoch's logs are appended to it and saved with it.
    """
    import keras

    class EpochCheckpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            for name, value in (logs or {}).items():
                history.setdefault(name, []).append(float(value))
            store.save(key, self.model, epoch + 1, history)

    return EpochCheckpoint()


def throughput_callback(
    tokens_per_step: int, steps_per_epoch: int, total_epochs: int, label: str = "Epoch"
) -> Any:
    """A Keras callback logging one line per epoch: losses, tokens per second, time left.

    It adds ``tokens_per_second`` and ``epoch_seconds`` to the epoch's logs.
    """
    import keras

    class ThroughputLog(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self._start = 0.0
            self.tokens_per_second: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seconds = time.perf_counter() - self._start
            rate = tokens_per_step * steps_per_epoch / max(seconds, 1e-9)
            self.tokens_per_second.append(rate)
            left = (total_epochs - epoch - 1) * seconds
            losses = ", ".join(f"{name} {value:.4f}" for name, value in (logs or {}).items())
            if logs is not None:  # the callbacks after this one (a checkpoint) see them too
                logs["tokens_per_second"] = rate
                logs["epoch_seconds"] = seconds
            logger.info(
                "%s %d/%d: %s; %.0f tokens/s, %.1f min, about %.0f min left",
                label,
                epoch + 1,
                total_epochs,
                losses,
                rate,
                seconds / 60,
                left / 60,
            )

    return ThroughputLog()
