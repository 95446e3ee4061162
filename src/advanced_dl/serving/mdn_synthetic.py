"""The served mixture density network: ``x1, x2`` rows in, mixture parameters out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from advanced_dl.serving import KerasPyfuncModel, ServingInputError

INPUT_COLUMNS = ("x1", "x2")


class MdnServingModel(KerasPyfuncModel):
    """Predicts, for each input point, the component it most likely belongs to.

    Output columns: ``predicted_component``, ``weight_<k>`` (mixture weights),
    ``mean_<k>_<d>`` and ``scale_<k>`` (see ALGORITHMS.md: the scales are
    floored and trained on point targets, so they are not cluster spreads).
    """

    def __init__(self, keras_model, input_example: pd.DataFrame, num_components: int) -> None:
        super().__init__(keras_model, input_example)
        self.num_components = int(num_components)

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in INPUT_COLUMNS if c not in frame.columns]
        if missing:
            raise ServingInputError(
                f"Input is missing columns {missing}; expected {list(INPUT_COLUMNS)}"
            )
        try:
            x = frame[list(INPUT_COLUMNS)].to_numpy(dtype="float32")
        except (TypeError, ValueError) as error:
            raise ServingInputError(
                f"Columns {list(INPUT_COLUMNS)} must be numeric: {error}"
            ) from error
        if not np.isfinite(x).all():
            raise ServingInputError("Input values must be finite numbers (no NaN or inf)")
        params = self.keras_model.predict(x, verbose=0)
        return mixture_frame(params, self.num_components, output_dim=len(INPUT_COLUMNS))


def mixture_frame(params: np.ndarray, num_components: int, output_dim: int) -> pd.DataFrame:
    """Network output (n, K*D + 2K) -> table of weights, means, scales and argmax component."""
    k, d = num_components, output_dim
    means = params[:, : k * d].reshape(-1, k, d)
    scales = params[:, k * d : k * d + k]
    weights = np.exp(params[:, k * d + k :])
    columns: dict[str, np.ndarray] = {"predicted_component": weights.argmax(axis=1)}
    for component in range(k):
        columns[f"weight_{component}"] = weights[:, component]
    for component in range(k):
        for dim in range(d):
            columns[f"mean_{component}_{dim}"] = means[:, component, dim]
    for component in range(k):
        columns[f"scale_{component}"] = scales[:, component]
    return pd.DataFrame(columns)
