"""Base class of the models served through MLflow: a Keras model plus its pre/post-processing.

Each pipeline subclasses :class:`KerasPyfuncModel` in ``advanced_dl.serving.<pipeline>``
(kept out of ``pipelines/`` so a serving environment needs no Kedro) with what a user deploys
(e.g. a detector that takes raw ``timestamp,value`` rows). The Keras model
travels as a ``.keras`` artifact, everything else (scalers, thresholds,
vocabularies) as plain attributes pickled with the instance.
"""

from __future__ import annotations

import warnings
from typing import Any

import mlflow
import pandas as pd

# MLflow asks for type hints on ``predict`` to infer a signature; these models
# log an input example instead, from which MLflow infers the signature.
warnings.filterwarnings("ignore", message=r".*Add type hints to the `predict` method.*")


class ServingInputError(ValueError):
    """The served model was given input it cannot score."""


class KerasPyfuncModel(mlflow.pyfunc.PythonModel):
    """A pyfunc model wrapping a Keras model.

    Subclasses implement :meth:`predict_frame`; ``input_example`` is a small
    DataFrame of valid input, logged with the model and used to infer its
    signature.
    """

    def __init__(self, keras_model: Any, input_example: pd.DataFrame) -> None:
        self.keras_model = keras_model
        self.input_example = input_example

    def __getstate__(self) -> dict[str, Any]:
        # The Keras model is logged as its own .keras artifact, not pickled.
        state = dict(self.__dict__)
        state["keras_model"] = None
        return state

    def load_context(self, context: Any) -> None:
        import keras

        import advanced_dl.models  # noqa: F401  (registers custom layers)

        self.keras_model = keras.saving.load_model(context.artifacts["keras_model"])

    def predict(self, context, model_input, params=None):  # no hints: MLflow reads them as a schema
        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        return self.predict_frame(model_input)

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a DataFrame of raw input; returns one output row per input row."""
        raise NotImplementedError
