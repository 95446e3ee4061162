"""The served MDN gives exactly the pipeline's prediction table on the same rows."""

from __future__ import annotations

import keras
import pandas as pd
import pytest

from advanced_dl.features import InvalidInputError
from advanced_dl.models.mdn import build_mdn
from advanced_dl.pipelines.mdn_synthetic import nodes


def test_served_model_matches_the_pipeline():
    keras.utils.set_random_seed(0)
    model = build_mdn(num_components=3, hidden_units=8)
    rows = pd.DataFrame({"x1": [0.5, -2.0, 3.0, 0.0], "x2": [1.0, 2.0, -1.5, 0.0]})
    predictions = nodes.predict_mixture(model, rows)
    served = nodes.build_served_model(model, rows)
    pd.testing.assert_frame_equal(served.predict(None, rows), predictions)
    with pytest.raises(InvalidInputError, match="x2"):
        served.predict(None, rows.drop(columns="x2"))
    for bad in (True, "1.5"):  # not numbers, though numpy would read them as 1.0 and 1.5
        with pytest.raises(InvalidInputError, match=r"Column 'x1' must hold numbers"):
            served.predict(None, rows.head(1).assign(x1=[bad]))
