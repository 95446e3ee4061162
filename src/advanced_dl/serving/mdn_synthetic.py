"""The served mixture density network: ``x1, x2`` rows in, mixture parameters out.

Input checks and the output table are the pipeline's (``advanced_dl.features.mixture``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from advanced_dl.features.mixture import TARGET_COLUMNS, input_points, mixture_frame
from advanced_dl.serving import KerasPyfuncModel


class MdnServingModel(KerasPyfuncModel):
    """Predicts, for each input point, the component it most likely belongs to.

    Output columns: ``predicted_component``, ``weight_<k>`` (mixture weights),
    ``mean_<k>_<d>`` and ``scale_<k>`` (the scales are floored and trained on
    point targets, so they are not cluster spreads; see docs/algorithms.md).
    """

    ENTRYPOINT = "mdn_synthetic"

    def __init__(
        self, keras_model=None, input_example: pd.DataFrame | None = None, num_components: int = 0
    ) -> None:
        super().__init__(keras_model, input_example)
        self.num_components = int(num_components)

    def state(self) -> dict[str, Any]:
        return {"num_components": self.num_components}

    def set_state(self, state: dict[str, Any], sparse: dict[str, Any]) -> None:
        self.num_components = int(state["num_components"])

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        params = self.keras_model.predict(input_points(frame), verbose=0)
        return mixture_frame(params, self.num_components, output_dim=len(TARGET_COLUMNS))
