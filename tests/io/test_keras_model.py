"""KerasModelDataset: one .keras file, written atomically."""

from __future__ import annotations

import numpy as np
import pytest
from kedro.io import DatasetError

from advanced_dl.io import KerasModelDataset


def test_keras_model_round_trip(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    dataset = KerasModelDataset(filepath=str(tmp_path / "models" / "m.keras"))
    dataset.save(model)
    x = np.ones((4, 3), dtype="float32")
    np.testing.assert_allclose(dataset.load().predict(x, verbose=0), model.predict(x, verbose=0))
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["m.keras"]


def test_load_args_reach_keras_and_compile_false_skips_the_optimizer(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x = np.ones((4, 3), dtype="float32")
    model.fit(x, np.zeros((4, 2)), epochs=1, verbose=0)  # builds the optimizer's state
    path = str(tmp_path / "m.keras")
    KerasModelDataset(filepath=path).save(model)
    assert KerasModelDataset(filepath=path).load().optimizer is not None
    inference = KerasModelDataset(filepath=path, load_args={"compile": False}).load()
    assert getattr(inference, "optimizer", None) is None
    np.testing.assert_allclose(inference.predict(x, verbose=0), model.predict(x, verbose=0))


def test_save_without_the_optimizer_leaves_the_model_compiled(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Embedding(500, 8)])
    model.compile(optimizer="adam", loss="mse")
    x = np.ones((4, 3), dtype="int32")
    model.fit(x, np.zeros((4, 3, 8)), epochs=1, verbose=0)
    with_state, without_state = tmp_path / "with.keras", tmp_path / "without.keras"
    KerasModelDataset(filepath=str(with_state)).save(model)
    dataset = KerasModelDataset(filepath=str(without_state), save_args={"include_optimizer": False})
    dataset.save(model)
    # Adam's two moment tables are left out: about a third of the size.
    assert without_state.stat().st_size < 0.5 * with_state.stat().st_size
    assert model.optimizer is not None  # the caller's model keeps training state
    np.testing.assert_allclose(dataset.load().predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(DatasetError, match="include_optimizer"):
        KerasModelDataset(filepath=str(without_state), save_args={"zipped": False})


def test_the_zip_holds_what_keras_writes_and_loads_with_the_optimizer(tmp_path):
    import zipfile

    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x = np.ones((4, 3), dtype="float32")
    model.fit(x, np.zeros((4, 2)), epochs=1, verbose=0)
    by_keras, by_dataset = tmp_path / "keras.keras", tmp_path / "dataset.keras"
    model.save(str(by_keras))
    KerasModelDataset(filepath=str(by_dataset)).save(model)

    def members(path):
        with zipfile.ZipFile(path) as archive:
            return sorted((i.filename, i.compress_type) for i in archive.infolist())

    assert members(by_dataset) == members(by_keras)
    loaded = KerasModelDataset(filepath=str(by_dataset)).load()
    assert int(loaded.optimizer.iterations) == 1  # the optimizer's state came along
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset.keras", "keras.keras"]


def test_keras_model_dataset_needs_keras_suffix():
    with pytest.raises(DatasetError, match=r"\.keras"):
        KerasModelDataset(filepath="model.h5")


def test_versioned_models_do_not_overwrite_each_other(tmp_path):
    import keras
    from kedro.io import Version

    path = str(tmp_path / "model.keras")
    for version, width in (("v1", 2), ("v2", 3)):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(width)])
        KerasModelDataset(filepath=path, version=Version(None, version)).save(model)
    assert KerasModelDataset(filepath=path, version=Version("v1", None)).load().output_shape == (
        None,
        2,
    )
    assert KerasModelDataset(filepath=path, version=Version(None, None)).load().output_shape == (
        None,
        3,
    )
    assert not KerasModelDataset(
        filepath=str(tmp_path / "other.keras"), version=Version(None, None)
    ).exists()
