"""Base class of the models served through MLflow: a Keras model plus its pre/post-processing.

Each pipeline subclasses :class:`KerasPyfuncModel` in ``advanced_dl.serving.<pipeline>``
(kept out of ``pipelines/`` so a serving environment needs no Kedro) with what a user deploys
(e.g. a detector that takes raw ``timestamp,value`` rows). Their preprocessing is the
pipelines' own, imported from ``advanced_dl.features``; bad input raises
:class:`~advanced_dl.features.InvalidInputError`. The Keras model
travels as a ``.keras`` artifact, everything else (scalers, thresholds,
vocabularies) as plain attributes pickled with the instance.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd

from advanced_dl.features import InvalidInputError

__all__ = ["InvalidInputError", "KerasPyfuncModel"]


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

    # A DataFrame hint: MLflow infers no schema from it (the input example gives the
    # signature) and leaves the checks to predict_frame.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        return self.predict_frame(model_input)

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a DataFrame of raw input; returns one output row per input row."""
        raise NotImplementedError
