"""KerasPyfuncModelDataset: a served model logged to the MLflow run and loaded back by URI."""

from __future__ import annotations

from pathlib import Path

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
    # Outputs only: an input schema would let MLflow cast a request before the model
    # checks it (serving.InputRefused).
    assert reloaded.metadata.get_input_schema() is None
    assert reloaded.metadata.get_output_schema().input_names()[0] == "predicted_component"


def test_a_fresh_process_loads_the_model_without_unpickling_training_objects(tracking, tmp_path):
    import json
    import subprocess
    import sys

    keras.utils.set_random_seed(0)
    rows = pd.DataFrame({"x1": [0.5, -1.0], "x2": [1.0, 0.0]})
    served = MdnServingModel(build_mdn(num_components=2, hidden_units=4), rows, 2)
    KerasPyfuncModelDataset(name="model").save(served)
    local = mlflow.artifacts.download_artifacts(
        f"runs:/{tracking.info.run_id}/model", dst_path=str(tmp_path / "model")
    )
    files = {path.name for path in Path(local).rglob("*")}
    assert "python_model.pkl" not in files and not any(f.endswith(".pkl") for f in files)
    assert "model_code_path" in (Path(local) / "MLmodel").read_text()  # models from code

    code = (
        "import json, sys, mlflow, pandas as pd\n"
        "model = mlflow.pyfunc.load_model(sys.argv[1])\n"
        "frame = pd.DataFrame({'x1': [0.5, -1.0], 'x2': [1.0, 0.0]})\n"
        "print(json.dumps(model.predict(frame).round(6).to_dict(orient='list')))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, local], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    predicted = json.loads(completed.stdout.strip().splitlines()[-1])
    expected = served.predict(None, rows).round(6).to_dict(orient="list")
    assert predicted == json.loads(json.dumps(expected))


def test_the_served_keras_file_leaves_the_optimizer_state_out(tracking, tmp_path):
    import h5py
    import numpy as np

    keras.utils.set_random_seed(0)
    rows = pd.DataFrame({"x1": [0.5, -1.0], "x2": [1.0, 0.0]})
    network = build_mdn(num_components=2, hidden_units=4)
    network.fit(rows.to_numpy("float32"), np.zeros((2, 1), "float32"), epochs=1, verbose=0)
    assert network.optimizer.variables  # trained: the optimizer holds state
    KerasPyfuncModelDataset(name="model").save(MdnServingModel(network, rows, 2))
    local = mlflow.artifacts.download_artifacts(
        f"runs:/{tracking.info.run_id}/model", dst_path=str(tmp_path / "model")
    )
    # Keras' unzipped format: a folder with the weights as a plain HDF5 file.
    (weights_file,) = Path(local).rglob("model.weights.h5")
    assert (weights_file.parent / "config.json").is_file()
    with h5py.File(weights_file, "r") as weights:
        assert "optimizer" not in weights and "layers" in weights
    assert network.optimizer is not None  # the trained model keeps its optimizer
