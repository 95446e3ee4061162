"""Fast full-batch training of a node classifier: one compiled step per epoch.

``keras.Model.fit`` spends most of a Cora epoch in per-epoch framework work:
building the data iterator, running callbacks and a separate evaluation pass
for validation. The arithmetic is a few hundred
million flops. Here one ``tf.function`` does the whole epoch (forward pass in
training mode, loss weighted by the training mask, gradient, Adam update,
then the validation pass in inference mode) on tensors created once, with
the graph filter kept as a ``tf.SparseTensor``. Early stopping and the
restoration of the best weights follow ``keras.callbacks.EarlyStopping``.

The loss is Keras' ``sample_weight`` semantics, as in the reference's
``fit(..., sample_weight=train_mask)``: sum over nodes of mask * cross-entropy
divided by the number of nodes, plus the layers' regularisation losses.
Accuracy is weighted by the mask (Keras ``weighted_metrics``).

TensorFlow is imported at module level: only the training node imports this.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from advanced_dl.models.grand import consistency_loss
from advanced_dl.training import TrainingResult, hold_then_decay, notify_epoch

logger = logging.getLogger(__name__)

LOSS_AVERAGES = ("all_nodes", "masked_nodes")
MONITORS = ("val_loss", "val_data_loss", "val_loss_or_accuracy", "val_data_loss_or_accuracy")


@dataclass
class FullBatchResult(TrainingResult):
    """``TrainingResult`` plus the one-off tracing time (included in ``fit_seconds``)."""

    compile_seconds: float = 0.0


@dataclass(frozen=True)
class EarlyStoppingConfig:
    """When to stop and which epoch's weights to keep.

    ``monitor="val_loss"``: ``keras.callbacks.EarlyStopping(monitor="val_loss",
    ...)``, step for step; Keras' ``val_loss`` includes the regularisation terms.
    ``monitor="val_data_loss"``: the same rule on the validation cross-entropy
    alone, as the GCNII code does (its weight decay lives in the optimizer, so
    its validation loss has none). ``monitor="val_loss_or_accuracy"``: the GAT paper's
    rule: the wait restarts whenever the validation loss reaches a new low OR
    the validation accuracy a new high (ties count), and the weights kept are
    those of the last epoch that did both. ``monitor="val_data_loss_or_accuracy"``:
    the GRAND code's rule: the same wait on the validation cross-entropy alone,
    keeping the weights of the last epoch that reached its new low (ties count).
    """

    patience: int | None = 10
    min_delta: float = 0.0
    restore_best_weights: bool = True
    monitor: str = "val_loss"


class _EarlyStopper:
    """Applies an :class:`EarlyStoppingConfig` epoch by epoch; keeps the chosen epoch's weights."""

    def __init__(self, config: EarlyStoppingConfig, get_weights: Callable[[], list]) -> None:
        if config.monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {MONITORS}, got {config.monitor!r}")
        self.config = config
        self._get_weights = get_weights
        self.best_loss, self.best_accuracy = math.inf, -math.inf
        self.best_epoch: int | None = None
        self.best_weights: list | None = None
        self._wait = 0

    def _keep(self, epoch: int) -> None:
        self.best_epoch = epoch
        if self.config.restore_best_weights:
            self.best_weights = self._get_weights()

    def should_stop(self, epoch: int, val_loss: float, val_accuracy: float) -> bool:
        config = self.config
        if config.patience is None:
            return False
        if config.monitor in ("val_loss_or_accuracy", "val_data_loss_or_accuracy"):
            lower, higher = val_loss <= self.best_loss, val_accuracy >= self.best_accuracy
            if lower and (higher or config.monitor == "val_data_loss_or_accuracy"):
                self._keep(epoch)
            self.best_loss = min(self.best_loss, val_loss)
            self.best_accuracy = max(self.best_accuracy, val_accuracy)
            self._wait = 0 if lower or higher else self._wait + 1
            return self._wait >= config.patience
        # keras.callbacks.EarlyStopping(monitor="val_loss"), step for step (val_loss
        # here is whichever loss the monitor names).
        if self.best_epoch is None:
            self._keep(epoch)
        self._wait += 1
        if val_loss < self.best_loss - config.min_delta:
            self.best_loss, self._wait = val_loss, 0
            self._keep(epoch)
            return False
        return self._wait >= config.patience and epoch > 0


@dataclass(frozen=True)
class ConsistencyConfig:
    """GRAND's training objective (``models.grand``): each epoch calls the model
    ``samples`` times in training mode (each call draws its own random features),
    averages the supervised losses of those calls and adds ``weight`` x
    ``consistency_loss`` of their predictions at ``temperature``, counting only
    the nodes whose averaged prediction exceeds ``confidence`` (0: every node); the
    ``loss`` curve then includes that term. ``warmup_epochs``: the weight rises
    linearly from 0 at the first epoch to ``weight`` at that epoch (GRAND+'s ramp,
    so early, mostly wrong predictions are not reinforced); 0 applies it from the start.
    """

    samples: int = 2
    weight: float = 1.0
    temperature: float = 0.5
    confidence: float = 0.0
    warmup_epochs: int = 0

    def weight_at(self, epoch: int) -> float:
        """The consistency weight of epoch ``epoch`` (0-based)."""
        if self.warmup_epochs == 0:
            return self.weight
        return self.weight * min(1.0, epoch / self.warmup_epochs)

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ValueError(f"consistency samples must be >= 1, got {self.samples}")
        if not 0 < self.temperature <= 1:
            raise ValueError(f"consistency temperature must be in (0, 1], got {self.temperature}")
        if not 0 <= self.confidence < 1:
            raise ValueError(f"consistency confidence must be in [0, 1), got {self.confidence}")
        if self.warmup_epochs < 0:
            raise ValueError(f"consistency warmup_epochs must be >= 0, got {self.warmup_epochs}")


def train_full_batch(
    model: keras.Model,
    features: tf.SparseTensor | np.ndarray,
    graph_filter: tf.SparseTensor,
    labels: np.ndarray,
    *,
    train_mask: np.ndarray,
    val_mask: np.ndarray,
    epochs: int,
    early_stopping: EarlyStoppingConfig,
    hold_epochs: int | None = None,
    decay_rate: float = 0.1,
    loss_average: str = "all_nodes",
    consistency: ConsistencyConfig | None = None,
    ema_momentum: float = 0.0,
    verbose: bool = True,
) -> FullBatchResult:
    """Train ``model`` (compiled, inputs ``[features, graph_filter]``) on the whole graph.

    Args:
        model: outputs class probabilities (n_nodes, n_classes); its optimizer is used.
        features: (n_nodes, n_features) float32, sparse or dense (as the model's input).
        graph_filter: (n_nodes, n_nodes) sparse A_hat.
        labels: (n_nodes, n_classes) one-hot float32.
        train_mask, val_mask: (n_nodes,) bool.
        epochs: maximum number of epochs.
        early_stopping: patience None disables early stopping.
        hold_epochs: None keeps the learning rate constant; else the project's
            "hold then decay" schedule (x exp(-decay_rate) per epoch after it).
        loss_average: ``"all_nodes"`` divides the masked cross-entropy by the
            number of nodes (Keras' ``sample_weight`` semantics, as the GCN
            reference); ``"masked_nodes"`` by the number of nodes in the mask
            (the GAT paper's code), which weighs the data term against the
            regularisation ``n_nodes / n_train`` times more.
        consistency: None trains on one forward pass per epoch; a
            ``ConsistencyConfig`` trains on GRAND's objective (the reported
            training accuracy is the first random version's).
        ema_momentum: 0 validates and keeps the trained weights themselves; in
            (0, 1), an exponential moving average of them (Polyak averaging, as
            Keras' ``use_ema``): after every update ``average = m * average +
            (1 - m) * weights``, and validation, early stopping and the kept
            weights use the average while training goes on from the raw weights.

    Returns:
        A ``FullBatchResult`` with Keras-named curves (``loss``, ``accuracy``,
        ``val_loss``, ``val_accuracy``, ``learning_rate``) and ``val_data_loss``
        (``val_loss`` without the regularisation terms), per-epoch wall
        seconds (training step and validation) and, when early stopping
        restored them, the best epoch's weights in ``model``.
    """
    n_nodes = int(features.shape[0])
    if not isinstance(features, tf.SparseTensor):
        features = tf.constant(features, dtype=tf.float32)
    y = tf.constant(labels, dtype=tf.float32)
    train_weight = tf.constant(np.asarray(train_mask, dtype=np.float32))
    val_weight = tf.constant(np.asarray(val_mask, dtype=np.float32))
    optimizer = model.optimizer
    weights = model.trainable_variables
    if loss_average not in LOSS_AVERAGES:
        raise ValueError(f"loss_average must be one of {LOSS_AVERAGES}, got {loss_average!r}")
    by_mask = loss_average == "masked_nodes"
    inverse_nodes = tf.constant(1.0 / n_nodes, dtype=tf.float32)

    def masked_loss_and_accuracy(probabilities, weight):
        cross_entropy = keras.losses.categorical_crossentropy(y, probabilities)
        scale = 1.0 / tf.reduce_sum(weight) if by_mask else inverse_nodes
        loss = tf.reduce_sum(cross_entropy * weight) * scale
        hits = tf.cast(tf.equal(tf.argmax(probabilities, axis=1), tf.argmax(y, axis=1)), tf.float32)
        accuracy = tf.math.divide_no_nan(tf.reduce_sum(hits * weight), tf.reduce_sum(weight))
        return loss, accuracy

    if not 0 <= ema_momentum < 1:
        raise ValueError(f"ema_momentum must be in [0, 1), got {ema_momentum}")
    averages = [tf.Variable(w, trainable=False) for w in weights] if ema_momentum else []
    # Where the raw weights wait while validation runs on the averages.
    parked = [tf.Variable(w, trainable=False) for w in weights] if ema_momentum else []

    def swap_in():
        for spare, weight, average in zip(parked, weights, averages, strict=True):
            spare.assign(weight)
            weight.assign(average)

    def swap_back():
        for spare, weight in zip(parked, weights, strict=True):
            weight.assign(spare)

    samples = consistency.samples if consistency is not None else 1
    # A variable, so the ramp changes the weight without retracing the step.
    consistency_weight = tf.Variable(
        consistency.weight_at(0) if consistency is not None else 0.0, trainable=False
    )

    @tf.function(reduce_retracing=True)
    def epoch_step(x, a):
        with tf.GradientTape() as tape:
            # GRAND's objective draws several random versions; every other model one.
            versions = [model([x, a], training=True) for _ in range(samples)]
            scored = [masked_loss_and_accuracy(p, train_weight) for p in versions]
            data_loss = tf.add_n([pair[0] for pair in scored]) / float(samples)
            accuracy = scored[0][1]
            if consistency is not None:
                data_loss += consistency_weight * consistency_loss(
                    versions, consistency.temperature, consistency.confidence
                )
            loss = data_loss + tf.add_n([data_loss * 0.0, *model.losses])
        gradients = tape.gradient(loss, weights)
        optimizer.apply_gradients(zip(gradients, weights, strict=True))
        if averages:
            for average, weight in zip(averages, weights, strict=True):
                average.assign(ema_momentum * average + (1.0 - ema_momentum) * weight)
            swap_in()
        # Validation after the update, as Keras does at the end of an epoch.
        val_probabilities = model([x, a], training=False)
        val_data_loss, val_accuracy = masked_loss_and_accuracy(val_probabilities, val_weight)
        val_loss = val_data_loss + tf.add_n([val_data_loss * 0.0, *model.losses])
        if averages:
            swap_back()
        return tf.stack([loss, accuracy, val_loss, val_accuracy, val_data_loss])

    def kept_weights() -> list:
        """What early stopping keeps: ``model.get_weights()``, with the averages when on."""
        if not averages:
            return model.get_weights()
        swap_in()
        kept = model.get_weights()
        swap_back()
        return kept

    schedule = hold_then_decay(hold_epochs, decay_rate) if hold_epochs is not None else None
    history: dict[str, list[float]] = {
        "loss": [],
        "accuracy": [],
        "val_loss": [],
        "val_accuracy": [],
        "learning_rate": [],
        "val_data_loss": [],
    }
    epoch_seconds: list[float] = []
    stopper = _EarlyStopper(early_stopping, kept_weights)
    start = time.perf_counter()
    # Trace (build the TensorFlow graph) once, before the timed epochs.
    compiled_step = epoch_step.get_concrete_function(features, graph_filter)
    compile_seconds = time.perf_counter() - start
    logger.info("Compiled the training step in %.2f s", compile_seconds)
    for epoch in range(epochs):
        epoch_start = time.perf_counter()
        if schedule is not None:
            optimizer.learning_rate.assign(schedule(epoch, float(optimizer.learning_rate.numpy())))
        if consistency is not None and consistency.warmup_epochs:
            consistency_weight.assign(consistency.weight_at(epoch))
        loss, accuracy, val_loss, val_accuracy, val_data_loss = (
            compiled_step(features, graph_filter).numpy().tolist()
        )
        learning_rate = float(optimizer.learning_rate.numpy())
        epoch_seconds.append(time.perf_counter() - epoch_start)
        values = (loss, accuracy, val_loss, val_accuracy, learning_rate, val_data_loss)
        for name, value in zip(history, values, strict=True):
            history[name].append(value)
        if verbose:
            logger.info(
                "Epoch %d/%d: loss %.4f accuracy %.4f val_loss %.4f val_accuracy %.4f (%.1f ms)",
                epoch + 1,
                epochs,
                loss,
                accuracy,
                val_loss,
                val_accuracy,
                1000 * epoch_seconds[-1],
            )
        notify_epoch(
            epoch,
            {
                "loss": loss,
                "accuracy": accuracy,
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
            },
        )
        on_data_loss = early_stopping.monitor in ("val_data_loss", "val_data_loss_or_accuracy")
        monitored = val_data_loss if on_data_loss else val_loss
        if stopper.should_stop(epoch, monitored, val_accuracy):
            logger.info("Epoch %d: early stopping", epoch + 1)
            break
    fit_seconds = time.perf_counter() - start
    best_epoch = stopper.best_epoch
    if stopper.best_weights is not None:
        model.set_weights(stopper.best_weights)
        logger.info("Restored the weights of the best epoch: %d", best_epoch + 1)
    else:
        best_epoch = len(epoch_seconds) - 1  # the weights kept are the last epoch's
        if averages:
            swap_in()
    return FullBatchResult(
        history=history,
        fit_seconds=fit_seconds,
        epochs_trained=len(epoch_seconds),
        best_epoch=best_epoch,
        epoch_seconds=epoch_seconds,
        compile_seconds=compile_seconds,
    )
