"""Base class of the models served through MLflow: a Keras model plus its pre/post-processing.

Each pipeline subclasses :class:`KerasPyfuncModel` in ``advanced_dl.serving.<pipeline>``
(kept out of ``pipelines/`` so a serving environment needs no Kedro) with what a user deploys
(e.g. a detector that takes raw ``timestamp,value`` rows). Their preprocessing is the
pipelines' own, imported from ``advanced_dl.features``; bad input raises
:class:`~advanced_dl.features.InvalidInputError`. The Keras model travels as a
``.keras`` artifact, everything else (scalers, thresholds, vocabularies, graphs)
as JSON and ``.npz`` artifacts: no Python object is pickled.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd

from advanced_dl.features import InvalidInputError

__all__ = ["InputRefused", "InvalidInputError", "KerasPyfuncModel"]


class InputRefused(mlflow.exceptions.MlflowException, InvalidInputError):
    """A served model's refusal: HTTP 400 whose ``message`` is the project's own.

    MLflow's scoring server answers any other exception with a generic message
    (the project's one buried in ``stack_trace``), and rewrites an
    ``MlflowException``'s message to start with the whole request. This one
    keeps its message as given, so ``mlflow models serve`` answers exactly
    what ``model.predict`` raises in Python.
    """

    def __init__(self, message: str) -> None:
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        self._own_message = message
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        return self._own_message

    @message.setter
    def message(self, value: str) -> None:
        """Ignored: the project's message stays the message."""


class KerasPyfuncModel(mlflow.pyfunc.PythonModel):
    """A pyfunc model wrapping a Keras model, logged as MLflow "models from code".

    Nothing is pickled: MLflow stores the Keras model (Keras' unzipped
    format; a ``.keras`` file from older runs loads too), the model's
    other state as JSON (:meth:`state`) and sparse matrices as ``.npz``
    (:meth:`sparse_state`), and at load time runs the subclass's entry point
    (``advanced_dl/serving/entrypoints/<ENTRYPOINT>.py``, which creates an empty
    model) and then :meth:`load_context`, which reads those files back. Loading
    therefore runs only this package's code.

    Subclasses implement :meth:`predict_frame`, :meth:`state` and
    :meth:`set_state`; ``input_example`` is a small DataFrame of valid input,
    logged with the model and used to infer its signature.
    """

    #: Module name of the subclass's entry point in ``advanced_dl/serving/entrypoints/``.
    ENTRYPOINT = ""

    def __init__(self, keras_model: Any = None, input_example: pd.DataFrame | None = None) -> None:
        self.keras_model = keras_model
        self.input_example = input_example

    def keras_models(self) -> dict[str, Any]:
        """The Keras models to save, by artifact name (each starts with ``keras_model``)."""
        return {"keras_model": self.keras_model}

    def set_keras_models(self, models: dict[str, Any]) -> None:
        """Take back what :meth:`keras_models` gave, loaded."""
        self.keras_model = models["keras_model"]

    def params_example(self) -> dict[str, Any] | None:
        """Request-time parameters the model accepts, with their defaults (None: none)."""
        return None

    def state(self) -> dict[str, Any]:
        """Everything besides the Keras models and sparse matrices, as JSON values."""
        return {}

    def sparse_state(self) -> dict[str, Any]:
        """SciPy sparse matrices the model needs, by name (saved as ``<name>.npz``)."""
        return {}

    def set_state(self, state: dict[str, Any], sparse: dict[str, Any]) -> None:
        """Restore what :meth:`state` and :meth:`sparse_state` gave."""

    def load_context(self, context: Any) -> None:
        import json

        import keras
        import scipy.sparse as sp

        import advanced_dl.models  # noqa: F401  (registers custom layers)

        artifacts = dict(context.artifacts)
        # Serving only predicts: the optimizer's state is not loaded.
        self.set_keras_models(
            {
                name: keras.saving.load_model(artifacts.pop(name), compile=False)
                for name in [name for name in artifacts if name.startswith("keras_model")]
            }
        )
        with open(artifacts.pop("state")) as stream:
            state = json.load(stream)
        self.set_state(state, {name: sp.load_npz(path) for name, path in artifacts.items()})

    # A DataFrame hint: MLflow infers no schema from it and leaves the checks to
    # predict_frame. The logged signature has no input schema either
    # (io.pyfunc_model): over HTTP, MLflow would cast each column to the schema's
    # type first (1.5 or true to node 1), so the model could not refuse them.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        try:
            if params:
                return self.predict_frame(model_input, **params)
            return self.predict_frame(model_input)
        except InvalidInputError as error:
            raise InputRefused(str(error)) from error

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a DataFrame of raw input; returns one output row per input row.

        A model with :meth:`params_example` takes those parameters as keyword arguments.
        """
        raise NotImplementedError
