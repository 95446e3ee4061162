"""KerasPyfuncModelDataset: a served model logged to the MLflow run and loaded back by URI."""

from __future__ import annotations

import keras
import mlflow
import pandas as pd

from advanced_dl.io import KerasPyfuncModelDataset
from advanced_dl.models.mdn import build_mdn
from advanced_dl.serving.mdn_synthetic import MdnServingModel


def test_logged_model_reloads_and_predicts_the_same(tracking):
    keras.utils.set_random_seed(0)
    rows = pd.DataFrame({"x1": [0.5, -1.0, 2.0], "x2": [1.0, 0.0, -2.0]})
    served = MdnServingModel(build_mdn(num_components=2, hidden_units=4), rows.head(2), 2)
    dataset = KerasPyfuncModelDataset(name="model")
    dataset.save(served)
    uri = f"runs:/{tracking.info.run_id}/model"
    assert dataset.load() is not None
    reloaded = mlflow.pyfunc.load_model(uri)
    pd.testing.assert_frame_equal(reloaded.predict(rows), served.predict(None, rows))
    signature = reloaded.metadata.get_input_schema().input_names()
    assert signature == ["x1", "x2"]
