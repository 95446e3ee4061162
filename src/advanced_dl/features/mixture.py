"""The mixture density network's inputs and outputs, in one layout for training and serving.

Network output, shape (batch, K*D + 2K):
``[means (K*D, component-major) | scales (K) | log mixture weights (K)]``.
As a table (one row per input point): ``predicted_component`` (argmax weight),
``weight_<k>``, ``mean_<k>_<d>``, ``scale_<k>``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.features import InvalidInputError, check_numbers

INPUT_COLUMNS = ("x1", "x2")
TARGET_COLUMNS = ("y1", "y2")


def split_mixture_parameters(params: Any, num_components: int, output_dim: int):
    """(batch, K*D + 2K) -> means (batch, K, D), scales (batch, K), log weights (batch, K).

    Works on NumPy arrays and on tensors alike.
    """
    k, d = num_components, output_dim
    means = params[..., : k * d]
    if isinstance(params, np.ndarray):
        means = means.reshape((-1, k, d))
    else:
        import keras

        means = keras.ops.reshape(means, (-1, k, d))
    return means, params[..., k * d : k * d + k], params[..., k * d + k :]


def mixture_frame(params: np.ndarray, num_components: int, output_dim: int) -> pd.DataFrame:
    """Network output (n, K*D + 2K) -> the mixture table (see the module docstring)."""
    means, scales, log_weights = split_mixture_parameters(
        np.asarray(params), num_components, output_dim
    )
    weights = np.exp(log_weights)
    columns: dict[str, np.ndarray] = {"predicted_component": weights.argmax(axis=1)}
    for component in range(num_components):
        columns[f"weight_{component}"] = weights[:, component]
    for component in range(num_components):
        for dim in range(output_dim):
            columns[f"mean_{component}_{dim}"] = means[:, component, dim]
    for component in range(num_components):
        columns[f"scale_{component}"] = scales[:, component]
    return pd.DataFrame(columns)


def frame_parameters(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mixture table -> weights (n, K), means (n, K, D), scales (n, K), float64."""
    k = sum(c.startswith("weight_") for c in frame.columns)
    d = sum(c.startswith("mean_0_") for c in frame.columns)
    weights = frame[[f"weight_{i}" for i in range(k)]].to_numpy(float)
    means = np.stack(
        [frame[[f"mean_{i}_{j}" for j in range(d)]].to_numpy(float) for i in range(k)], axis=1
    )
    scales = frame[[f"scale_{i}" for i in range(k)]].to_numpy(float)
    return weights, means, scales


def input_points(frame: pd.DataFrame) -> np.ndarray:
    """The network input of a table with columns ``x1, x2``: (n, 2) float32.

    Raises:
        InvalidInputError: a missing column, a non-numeric or a non-finite value.
    """
    missing = [c for c in INPUT_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"Input is missing columns {missing}; expected {list(INPUT_COLUMNS)}"
        )
    check_numbers(frame, INPUT_COLUMNS)
    try:
        x = frame[list(INPUT_COLUMNS)].to_numpy(dtype="float32")
    except (TypeError, ValueError) as error:
        raise InvalidInputError(
            f"Columns {list(INPUT_COLUMNS)} must be numeric: {error}"
        ) from error
    if not np.isfinite(x).all():
        raise InvalidInputError("Input values must be finite numbers (no NaN or inf)")
    return x
