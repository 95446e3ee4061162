"""Log a :class:`advanced_dl.serving.KerasPyfuncModel` to MLflow as a pyfunc model."""

from __future__ import annotations

import json
import logging
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
from kedro_mlflow.io.models import MlflowModelTrackingDataset

from advanced_dl.io.keras_model import save_keras_model

logger = logging.getLogger(__name__)

# What a serving environment needs; listed so MLflow does not spend seconds
# re-importing the model in a subprocess to infer it.
_SERVING_DISTRIBUTIONS = (
    "tensorflow",
    "keras",
    "tensorflow-probability",
    "tf-keras",
    "spektral",
    "mlflow",
    "pandas",
    "numpy",
    "scikit-learn",
    "scipy",
)


def serving_requirements() -> list[str]:
    """Pinned requirements of the installed serving stack."""
    pins = []
    for name in _SERVING_DISTRIBUTIONS:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


class KerasPyfuncModelDataset(MlflowModelTrackingDataset):
    """kedro-mlflow's model dataset, specialised for the project's served models.

    ``save`` logs the model under ``name`` in the active run as MLflow "models
    from code": the model's entry point (``advanced_dl/serving/entrypoints/``),
    its Keras models (Keras' unzipped format, a folder each), its state as JSON and
    ``.npz`` artifacts, an input example and the signature of the model's
    output on it, pinned requirements, and the
    ``advanced_dl`` package as code, so ``mlflow.pyfunc.load_model(uri)`` works
    outside the project and unpickles nothing. ``load``
    returns the last model saved (or ``load_args.model_uri``).

    ``registered_model_name`` is not registered here: a run's model joins the
    registry only once the whole run has finished (``hooks.RegistryHook``,
    ``advanced_dl.registry``), so a run that fails or is killed never adds a version.
    """

    def __init__(
        self,
        name: str = "model",
        registered_model_name: str | None = None,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        save_args: dict[str, Any] = {"name": name}
        self.registered_model_name = registered_model_name
        # Set once this run has logged the model.
        self.logged_model_uri: str | None = None
        self.logged_run_id: str | None = None
        super().__init__(
            flavor="mlflow.pyfunc",
            pyfunc_workflow="python_model",
            load_args=load_args,
            save_args=save_args,
            metadata=metadata,
        )

    def _save(self, model: Any) -> None:
        if not self._logging_activated:
            return
        if mlflow.active_run() is None:
            logger.warning("No active MLflow run: model %s not logged", self._save_args["name"])
            return
        import scipy.sparse as sp

        import advanced_dl

        package_dir = Path(advanced_dl.__file__).parent
        entrypoint = package_dir / "serving" / "entrypoints" / f"{model.ENTRYPOINT}.py"
        with tempfile.TemporaryDirectory() as staging:
            artifacts = {"state": str(Path(staging) / "state.json")}
            for name, keras_model in model.keras_models().items():
                artifacts[name] = str(Path(staging) / name)
                # Serving never trains: the optimizer's state would only weigh the artifact.
                # Unzipped, MLflow's check that the model serves (it loads it back in this
                # process) and every later load read the weights from disk, not from a copy
                # of the zip in memory.
                save_keras_model(
                    keras_model, artifacts[name], include_optimizer=False, zipped=False
                )
            Path(artifacts["state"]).write_text(json.dumps(model.state()))
            for name, matrix in model.sparse_state().items():
                artifacts[name] = str(Path(staging) / f"{name}.npz")
                sp.save_npz(artifacts[name], matrix.tocsr())
            # The signature comes from the model in memory: left to MLflow, it would
            # load a second copy of the model from the artifacts to infer it.
            example = model.input_example
            params = model.params_example()
            inferred = mlflow.models.infer_signature(
                example, model.predict(None, example), params=params
            )
            # Outputs and parameters only: with an input schema, the scoring server
            # would cast a request's columns to it before the model sees them, and
            # "1.5" or true would pass as 1; the model checks its input itself,
            # the same in Python and over HTTP (serving.InputRefused).
            signature = mlflow.models.ModelSignature(
                inputs=None, outputs=inferred.outputs, params=inferred.params
            )
            self.model_info = mlflow.pyfunc.log_model(
                python_model=str(entrypoint),
                artifacts=artifacts,
                input_example=example,
                signature=signature,
                pip_requirements=serving_requirements(),
                code_paths=[str(package_dir)],
                **self._save_args,
            )
        self._last_saved_model_uri = self.logged_model_uri = self.model_info.model_uri
        self.logged_run_id = self.model_info.run_id
