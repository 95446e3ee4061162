"""The MDN's output layout and prediction table, shared by the pipeline and the served model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advanced_dl.features import InvalidInputError
from advanced_dl.features.mixture import (
    frame_parameters,
    input_points,
    mixture_frame,
    split_mixture_parameters,
)

K, D = 3, 2


def _params(n: int = 4) -> np.ndarray:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(n, K))
    log_weights = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return np.hstack(
        [rng.normal(size=(n, K * D)), rng.uniform(0.1, 1, size=(n, K)), log_weights]
    ).astype("float32")


def test_layout_is_means_then_scales_then_log_weights():
    params = _params()
    means, scales, log_weights = split_mixture_parameters(params, K, D)
    assert means.shape == (4, K, D) and scales.shape == (4, K) and log_weights.shape == (4, K)
    np.testing.assert_array_equal(means[:, 1, 0], params[:, 2])  # component-major means
    np.testing.assert_array_equal(scales[:, 0], params[:, K * D])
    np.testing.assert_array_equal(log_weights[:, -1], params[:, -1])


def test_table_round_trip_and_predicted_component():
    params = _params()
    table = mixture_frame(params, K, D)
    assert list(table.columns[: 1 + K]) == [
        "predicted_component",
        "weight_0",
        "weight_1",
        "weight_2",
    ]
    weights, means, scales = frame_parameters(table)
    expected_means, expected_scales, log_weights = split_mixture_parameters(params, K, D)
    np.testing.assert_allclose(weights, np.exp(log_weights), rtol=1e-6)
    np.testing.assert_allclose(means, expected_means)
    np.testing.assert_allclose(scales, expected_scales)
    np.testing.assert_array_equal(table["predicted_component"], log_weights.argmax(axis=1))


def test_tensors_are_split_like_arrays():
    import tensorflow as tf

    params = _params()
    means, _scales, _ = split_mixture_parameters(tf.constant(params), K, D)
    np.testing.assert_array_equal(np.asarray(means), split_mixture_parameters(params, K, D)[0])
    assert tuple(means.shape) == (4, K, D)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"x1": [1.0]}), r"missing columns \['x2'\]"),
        (pd.DataFrame({"x1": ["a"], "x2": [1.0]}), "Column 'x1' must hold numbers"),
        (pd.DataFrame({"x1": [1.0], "x2": [True]}), "Column 'x2' must hold numbers"),
        (pd.DataFrame({"x1": [np.nan], "x2": [1.0]}), "finite"),
    ],
)
def test_bad_input_points_are_refused(frame, message):
    with pytest.raises(InvalidInputError, match=message):
        input_points(frame)
