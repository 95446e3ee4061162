"""The served Cora GCN: node indices in, class probabilities and predicted class out.

A GCN is transductive: it classifies the nodes of the graph it was trained
on, and every prediction uses the whole graph. The node features and the
graph filter A_hat therefore travel with the model (as SciPy CSR matrices);
a request names nodes by index (0..N-1, in the order of ``cora.content`` for
the reference split, of the Planetoid files for the Planetoid split).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.features import InvalidInputError, numbers_only
from advanced_dl.features.graph import node_probabilities
from advanced_dl.serving import KerasPyfuncModel

NODE_COLUMN = "node"


class CoraGcnServingModel(KerasPyfuncModel):
    """Class probabilities of graph nodes.

    Input: a DataFrame with an integer column ``node``. Output, one row per
    input row: ``node``, ``paper_id``, ``probability_<class>`` for every class
    and ``predicted_class``.
    """

    ENTRYPOINT = "cora_gcn"

    def __init__(
        self,
        keras_model: Any = None,
        features: Any = None,
        graph_filter: Any = None,
        class_names: list[str] | None = None,
        node_ids: list[str] | None = None,
        inference_samples: int = 0,
    ) -> None:
        super().__init__(keras_model, pd.DataFrame({NODE_COLUMN: [0, 1, 2]}))
        self.features = features.tocsr() if features is not None else None
        self.graph_filter = graph_filter.tocsr() if graph_filter is not None else None
        self.class_names = list(class_names or [])
        self.node_ids = list(node_ids or [])
        self.inference_samples = int(inference_samples)
        self._probabilities: np.ndarray | None = None

    def state(self) -> dict[str, Any]:
        return {
            "class_names": self.class_names,
            "node_ids": self.node_ids,
            "inference_samples": self.inference_samples,
        }

    def sparse_state(self) -> dict[str, Any]:
        return {"features": self.features, "graph_filter": self.graph_filter}

    def set_state(self, state: dict[str, Any], sparse: dict[str, Any]) -> None:
        self.class_names = list(state["class_names"])
        self.node_ids = list(state["node_ids"])
        self.inference_samples = int(state.get("inference_samples", 0))
        self.features = sparse["features"].tocsr()
        self.graph_filter = sparse["graph_filter"].tocsr()
        self._probabilities = None

    @property
    def n_nodes(self) -> int:
        return self.features.shape[0]

    def all_probabilities(self) -> np.ndarray:
        """(N, C) class probabilities of every node, computed once on the whole graph,
        as evaluation computed them (``inference_samples``; with N > 0 an average of
        N random versions, so two loads of the model agree up to that average's noise)."""
        if self._probabilities is None:
            self._probabilities = node_probabilities(
                self.keras_model, self.features, self.graph_filter, self.inference_samples
            )
        return self._probabilities

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        if NODE_COLUMN not in frame.columns:
            raise InvalidInputError(
                f"Input needs an integer column {NODE_COLUMN!r} of node indices "
                f"(0..{self.n_nodes - 1}); got columns {list(frame.columns)}"
            )
        values = frame[NODE_COLUMN]
        numeric = numbers_only(values)  # true or "3" is not a node index
        bad = values[numeric.isna() | (numeric != np.round(numeric))]
        out_of_range = values[(numeric < 0) | (numeric >= self.n_nodes)]
        if len(bad) or len(out_of_range):
            shown = pd.concat([bad, out_of_range]).drop_duplicates().head(10).tolist()
            raise InvalidInputError(
                f"Column {NODE_COLUMN!r} must hold node indices 0..{self.n_nodes - 1}; "
                f"invalid values: {shown}"
            )
        nodes = numeric.to_numpy(dtype=np.int64)
        probabilities = self.all_probabilities()[nodes]
        result = pd.DataFrame({NODE_COLUMN: nodes})
        result["paper_id"] = [self.node_ids[n] for n in nodes]
        for k, name in enumerate(self.class_names):
            result[f"probability_{name}"] = probabilities[:, k].astype(np.float64)
        result["predicted_class"] = [self.class_names[k] for k in probabilities.argmax(axis=1)]
        return result
