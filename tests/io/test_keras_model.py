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


def test_keras_model_dataset_needs_keras_suffix():
    with pytest.raises(DatasetError, match=r"\.keras"):
        KerasModelDataset(filepath="model.h5")
