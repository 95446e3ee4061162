"""The "hold then decay" schedule (docs/algorithms.md)."""

import math

import numpy as np
import pytest

from advanced_dl.training import fit_model, hold_then_decay, learning_rate_for


def test_hold_then_decay_matches_the_reference():
    schedule = hold_then_decay()
    rate, rates = 1e-3, []
    for epoch in range(7):
        rate = schedule(epoch, rate)
        rates.append(rate)
    assert rates[:4] == [1e-3] * 4
    assert rates[4] == pytest.approx(1e-3 * math.exp(-0.1))
    assert rates[6] == pytest.approx(1e-3 * math.exp(-0.3))


def test_hold_then_decay_rejects_negative_values():
    with pytest.raises(ValueError, match="hold_epochs"):
        hold_then_decay(hold_epochs=-1)


def test_cosine_schedule_spans_the_whole_fit_and_ends_at_zero():
    params = {"learning_rate": 1e-3, "batch_size": 32, "epochs": 2}
    assert learning_rate_for({**params, "schedule": "hold_then_decay"}, 100) == 1e-3
    schedule = learning_rate_for({**params, "schedule": "cosine"}, 100)
    steps = 2 * 4  # ceil(100 / 32) batches per epoch
    assert float(schedule(0)) == pytest.approx(1e-3)
    assert float(schedule(steps // 2)) == pytest.approx(5e-4)
    assert float(schedule(steps)) == pytest.approx(0.0, abs=1e-12)


def test_fit_with_an_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="schedule"):
        fit_model(None, None, epochs=1, batch_size=1, schedule="linear")


def _fit_line(**options):
    """Fit y = 3x + 1 with one Dense unit; returns (model, x, y, TrainingResult)."""
    import keras

    keras.utils.set_random_seed(0)
    x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
    y = 3 * x + 1
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    result = fit_model(model, x, y, validation_data=(x, y), batch_size=16, verbose=0, **options)
    return model, x, y, result


def test_fit_model_records_curves_and_restores_best_weights():
    model, x, y, result = _fit_line(epochs=6, early_stopping_patience=2)
    assert result.epochs_trained == len(result.history["loss"]) == len(result.epoch_seconds)
    assert result.history["learning_rate"][0] == pytest.approx(0.05)
    assert result.fit_seconds > 0
    best = min(result.history["val_loss"])
    assert model.evaluate(x, y, verbose=0) == pytest.approx(best, rel=1e-4)
    metrics = result.as_metrics()
    assert metrics["epochs_trained"] == result.epochs_trained
    assert metrics["best_epoch"] == result.history["val_loss"].index(best)


def test_best_epoch_is_the_one_early_stopping_restores():
    # No epoch improves on the first by min_delta=100: Keras keeps epoch 0.
    model, x, y, result = _fit_line(
        epochs=4, early_stopping_patience=2, early_stopping_min_delta=100.0
    )
    assert result.best_epoch == 0
    assert min(result.history["val_loss"]) < result.history["val_loss"][0]
    assert model.evaluate(x, y, verbose=0) == pytest.approx(result.history["val_loss"][0], rel=1e-4)


MIRRORED_CHECK = """
import json, sys
import numpy as np, pandas as pd, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
import keras
from advanced_dl.pipelines.imdb_transformer.nodes import train_transformer
from advanced_dl.training import distribution_scope

rng = np.random.default_rng(0)
tokens = rng.integers(2, 30, size=(64, 8)).astype("int32")
reviews = pd.DataFrame({"label": (tokens[:, 0] > 15).astype("int32")})
model = {"embedding_dim": 8, "bigram_buckets": 16, "bigram_dim": 4, "bigram_scale": 1.0,
         "num_heads": 2, "key_dim": 4, "feed_forward_dim": 8, "dropout_rate": 0.0,
         "dense_units": 4, "num_classes": 2, "layer_norm_epsilon": 1e-6}
training = {"batch_size": 16, "epochs": 1, "learning_rate": 0.01, "schedule": "cosine",
            "optimizer": "lazy_adam", "hold_epochs": 4,
            "decay_rate": 0.1, "early_stopping_patience": None, "early_stopping_min_delta": 0.0,
            "restore_best_weights": True}
losses = {}
for distribution in ("none", "mirrored"):
    keras.utils.set_random_seed(0)
    _, history = train_transformer(tokens, reviews, tokens[:16], reviews[:16], ["", "[UNK]"] + [
        f"w{i}" for i in range(28)], None, {"use": "none"}, model,
        {**training, "distribution": distribution})
    losses[distribution] = history["loss"][0]
with distribution_scope("mirrored") as strategy:
    replicas = strategy.num_replicas_in_sync
print(json.dumps({"losses": losses, "replicas": replicas}))
"""


def test_mirrored_training_on_two_logical_cpus_gives_the_single_device_loss():
    import json
    import subprocess
    import sys

    # A process of its own: logical devices must be set before TensorFlow starts.
    completed = subprocess.run(
        [sys.executable, "-c", MIRRORED_CHECK], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["losses"]["mirrored"] == pytest.approx(result["losses"]["none"], rel=1e-6)


def test_unknown_distribution_is_refused():
    from advanced_dl.training import distribution_scope

    with pytest.raises(ValueError, match="distribution must be one of"), distribution_scope("tpu"):
        pass


def test_releasing_the_optimizer_state_frees_it_and_keeps_the_model():
    import gc
    import weakref

    import keras

    from advanced_dl.training import release_optimizer_state

    model = keras.Sequential([keras.Input((3,)), keras.layers.Embedding(50, 4)])
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse", metrics=["mae"])
    x, y = np.ones((8, 3), dtype="int32"), np.zeros((8, 3, 4), dtype="float32")
    model.fit(x, y, epochs=1, verbose=0)
    trained = weakref.ref(model.optimizer)
    predictions = model.predict(x, verbose=0)

    release_optimizer_state(model)
    gc.collect()

    assert trained() is None  # nothing holds the fitted optimizer or its moments
    assert not model.optimizer.built
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(2e-3)
    np.testing.assert_array_equal(model.predict(x, verbose=0), predictions)
    assert set(model.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", "mae"}
    model.fit(x, y, epochs=1, verbose=0)  # and it can still train
    assert model.optimizer.built


def test_releasing_an_uncompiled_model_is_a_no_op():
    import keras

    from advanced_dl.training import release_optimizer_state

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    release_optimizer_state(model)
    assert not model.compiled


def test_checkpoint_store_keeps_only_complete_checkpoints_and_one_writer(tmp_path):
    import keras

    from advanced_dl.training import CheckpointBusyError, CheckpointStore

    store = CheckpointStore(tmp_path / "checkpoints")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    assert store.latest("abc") is None
    with store.claim("abc"):
        with pytest.raises(CheckpointBusyError, match="same settings"), store.claim("abc"):
            pass
        store.save("abc", model, 1, {"loss": [2.0]})
        store.save("abc", model, 2, {"loss": [2.0, 1.0]})
    path, progress = store.latest("abc")
    assert progress["epochs_done"] == 2 and progress["history"] == {"loss": [2.0, 1.0]}
    assert [p.name for p in (tmp_path / "checkpoints" / "abc").glob("epoch-*")] == ["epoch-0002"]
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(reloaded.get_weights()[0], model.get_weights()[0])
    # A checkpoint whose model went missing (a kill mid-copy elsewhere) is not trusted.
    path.unlink()
    assert store.latest("abc") is None
    with store.claim("abc"):  # released after the first holder
        pass
