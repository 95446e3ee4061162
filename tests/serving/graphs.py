"""A tiny citation graph, shaped as the cora_gcn nodes take it, for serving tests."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def path_graph(n_nodes: int, seed: int = 0) -> dict:
    """Nodes ``p0..p{n-1}`` in a path, 5 random 0/1 features, subjects alternating a, b."""
    rng = np.random.default_rng(seed)
    return {
        "node_ids": np.array([f"p{i}" for i in range(n_nodes)], dtype=object),
        "features": sp.csr_matrix((rng.random((n_nodes, 5)) < 0.5).astype(np.float32)),
        "subjects": np.array(["a", "b"] * (n_nodes // 2), dtype=object),
        "adjacency": sp.csr_matrix(np.eye(n_nodes, k=1) + np.eye(n_nodes, k=-1), dtype=np.float32),
        "source": "reference",
    }
