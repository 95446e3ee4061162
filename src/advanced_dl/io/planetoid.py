"""The Planetoid files of a citation graph (``ind.<name>.*``, Yang et al. 2016), read safely.

The Planetoid files are Python pickles, and unpickling can run arbitrary
code. Each file's SHA-256 is therefore checked against the value pinned in the
catalog BEFORE it is opened as a pickle, and a mismatch is refused. As a second line
of defence the unpickler only resolves the few classes these files contain
(NumPy arrays, SciPy CSR matrices, ``defaultdict`` and ``list``).

Layout of the files (as the GCN paper's code reads them): ``x``/``y`` are
the 140 training nodes (nodes 0..139), ``allx``/``ally`` all the nodes that
are not test nodes (0..1707, the first 140 being the training ones), ``tx``/``ty``
the 1000 test nodes, whose node indices are listed, in the same order, in
``test.index``; ``graph`` maps each node index to its neighbours. The GCN
paper validates on the nodes after the training ones (the pipeline's
``planetoid_split.val_size``).
"""

from __future__ import annotations

import collections
import functools
import hashlib
import logging
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from kedro.io import AbstractDataset, DatasetError

from advanced_dl.data.acquisition import DEFAULT_RAW_DIR, fetch

logger = logging.getLogger(__name__)

PLANETOID_FILES = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")


class PlanetoidFileError(ValueError):
    """A Planetoid file is not what the project expects (checksum, type or shape)."""


def _allowed_globals() -> dict[tuple[str, str], Any]:
    import codecs

    from numpy._core import multiarray

    return {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # Python 2 era pickles name numpy.core; NumPy 2 moved it to numpy._core.
        ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
        ("scipy.sparse.csr", "csr_matrix"): sp.csr_matrix,
        ("scipy.sparse._csr", "csr_matrix"): sp.csr_matrix,
        ("collections", "defaultdict"): collections.defaultdict,
        ("__builtin__", "list"): list,
        ("builtins", "list"): list,
        # How Python 3 writes bytes in a protocol-2 pickle (a pure text -> bytes codec call).
        ("_codecs", "encode"): codecs.encode,
    }


class _PlanetoidUnpickler(pickle.Unpickler):
    """Resolves only the classes the Planetoid files are made of."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = _allowed_globals()
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(
                f"{module}.{name} is not allowed in a Planetoid file (allowed: "
                f"{sorted(f'{m}.{n}' for m, n in allowed)})"
            )
        return allowed[(module, name)]


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: str | Path, expected: str) -> None:
    """Raise :class:`PlanetoidFileError` unless ``path`` hashes to ``expected``."""
    actual = file_sha256(path)
    if actual != expected.lower():
        raise PlanetoidFileError(
            f"Refusing to unpickle {path}: its SHA-256 is {actual}, the pinned value is "
            f"{expected}. The file is not the canonical Planetoid file (corrupted download "
            "or tampered mirror); delete it so it is fetched again."
        )


def _read_pickle(path: Path) -> Any:
    """Unpickle a file whose checksum :func:`load_planetoid` has verified."""
    with path.open("rb") as stream:
        return _PlanetoidUnpickler(stream, encoding="latin1").load()


def _sparse_features(value: Any, path: Path) -> sp.csr_matrix:
    if not (sp.issparse(value) or isinstance(value, np.ndarray)) or value.ndim != 2:
        raise PlanetoidFileError(f"{path} must hold a 2-D feature matrix, got {type(value)}")
    return sp.csr_matrix(value, dtype=np.float32)


def _one_hot(value: Any, path: Path) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.ndim != 2:
        raise PlanetoidFileError(f"{path} must hold a 2-D one-hot label array, got {type(value)}")
    return value


def load_planetoid(paths: Mapping[str, str | Path], sha256: Mapping[str, str]) -> dict[str, Any]:
    """Read the eight Planetoid files of one dataset after verifying their checksums.

    Args:
        paths: local path of each file, keyed by the names in :data:`PLANETOID_FILES`.
        sha256: expected SHA-256 per file, keyed likewise.

    Returns:
        dict with ``features`` (n_nodes, n_features) float32 CSR, ``labels``
        (n_nodes,) int64 class index (-1 for a node without a label),
        ``adjacency`` (n_nodes, n_nodes) float32 CSR, symmetric, 0/1, no
        self-loops, ``train_index`` (the labelled training nodes) and
        ``test_index`` (int64), and ``n_known``, the number of non-test nodes.

    Raises:
        PlanetoidFileError: a missing file, a checksum mismatch (before any
            unpickling), or files whose sizes disagree.
    """
    missing = [name for name in PLANETOID_FILES if name not in paths]
    if missing:
        raise PlanetoidFileError(f"Planetoid files missing: {missing}")
    unpinned = [name for name in PLANETOID_FILES if not sha256.get(name)]
    if unpinned:
        raise PlanetoidFileError(f"No pinned SHA-256 for Planetoid files {unpinned}")
    files = {name: Path(paths[name]) for name in PLANETOID_FILES}
    # Check every checksum first: nothing is unpickled unless all files match.
    for name in PLANETOID_FILES:
        verify_sha256(files[name], sha256[name])

    x = _sparse_features(_read_pickle(files["x"]), files["x"])
    y = _one_hot(_read_pickle(files["y"]), files["y"])
    tx = _sparse_features(_read_pickle(files["tx"]), files["tx"])
    ty = _one_hot(_read_pickle(files["ty"]), files["ty"])
    allx = _sparse_features(_read_pickle(files["allx"]), files["allx"])
    ally = _one_hot(_read_pickle(files["ally"]), files["ally"])
    graph = _read_pickle(files["graph"])
    if not isinstance(graph, dict):
        raise PlanetoidFileError(f"{files['graph']} must hold a dict of adjacency lists")
    test_text = files["test.index"].read_text()
    try:
        test_order = np.array([int(line) for line in test_text.split()], dtype=np.int64)
    except ValueError as error:
        raise PlanetoidFileError(f"{files['test.index']} must list integers: {error}") from error

    n_train, n_known, n_test = x.shape[0], allx.shape[0], tx.shape[0]
    checks = [
        (y.shape[0] == n_train, f"{files['y']} has {y.shape[0]} rows, x has {n_train}"),
        (ally.shape[0] == n_known, f"{files['ally']} has {ally.shape[0]} rows, allx {n_known}"),
        (ty.shape[0] == n_test, f"{files['ty']} has {ty.shape[0]} rows, tx has {n_test}"),
        (
            test_order.size == n_test,
            f"{files['test.index']} lists {test_order.size} nodes, tx has {n_test} rows",
        ),
        (
            x.shape[1] == allx.shape[1] == tx.shape[1],
            f"feature widths differ: x {x.shape[1]}, allx {allx.shape[1]}, tx {tx.shape[1]}",
        ),
        (
            y.shape[1] == ally.shape[1] == ty.shape[1],
            f"label widths differ: y {y.shape[1]}, ally {ally.shape[1]}, ty {ty.shape[1]}",
        ),
        (np.unique(test_order).size == n_test, f"{files['test.index']} repeats node indices"),
        (bool((test_order >= n_known).all()), f"{files['test.index']} lists nodes below {n_known}"),
    ]
    for ok, message in checks:
        if not ok:
            raise PlanetoidFileError(message)

    # The graph names every node: 0..n_known-1 are allx's rows; test node
    # test_order[i] is tx's row i. Indices in between that name no test node
    # (CiteSeer's 15 isolated nodes) keep empty features and no label.
    n_nodes = max(graph, default=-1) + 1
    if n_nodes < n_known + n_test:
        raise PlanetoidFileError(
            f"{files['graph']} has {n_nodes} nodes, fewer than the {n_known} of allx plus "
            f"the {n_test} of tx"
        )
    if int(test_order.max()) >= n_nodes:
        beyond = sorted(int(i) for i in test_order[test_order >= n_nodes])
        raise PlanetoidFileError(
            f"{files['test.index']} names nodes beyond the graph's {n_nodes} nodes "
            f"(0..{n_nodes - 1}): {beyond[:10]}"
        )
    features = sp.lil_matrix((n_nodes, x.shape[1]), dtype=np.float32)
    features[:n_known] = allx
    features[test_order] = tx
    labels = np.full(n_nodes, -1, dtype=np.int64)
    labelled = ally.sum(axis=1) > 0
    labels[:n_known][labelled] = ally.argmax(axis=1)[labelled]
    labelled_test = ty.sum(axis=1) > 0
    labels[test_order[labelled_test]] = ty.argmax(axis=1)[labelled_test]

    rows, cols = [], []
    for node, neighbours in graph.items():
        for neighbour in neighbours:
            rows.append(int(node))
            cols.append(int(neighbour))
    rows_array, cols_array = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    if rows_array.size and (
        max(rows_array.max(), cols_array.max()) >= n_nodes
        or min(rows_array.min(), cols_array.min()) < 0
    ):
        raise PlanetoidFileError(f"{files['graph']} names nodes outside 0..{n_nodes - 1}")
    self_loops = rows_array == cols_array
    adjacency = sp.coo_matrix(
        (
            np.ones(int((~self_loops).sum()), dtype=np.float32),
            (rows_array[~self_loops], cols_array[~self_loops]),
        ),
        shape=(n_nodes, n_nodes),
    ).tocsr()
    adjacency = ((adjacency + adjacency.T) > 0).astype(np.float32).tocsr()
    logger.info(
        "Planetoid: %d nodes, %d undirected edges (%d self-loops dropped), %d features",
        n_nodes,
        adjacency.nnz // 2,
        int(self_loops.sum()),
        features.shape[1],
    )
    return {
        "features": features.tocsr(),
        "labels": labels,
        "adjacency": adjacency,
        "train_index": np.arange(n_train, dtype=np.int64),
        "test_index": np.sort(test_order),
        "n_known": n_known,
    }


class PlanetoidDataset(AbstractDataset):
    """The Planetoid datasets (``ind.<name>.*``), each fetched, verified and read on demand.

    ``sha256`` pins every file of every dataset, keyed by dataset name (the
    one place the checksums live). ``load`` returns ``{name: load_function}``,
    as Kedro's ``PartitionedDataset`` does, so a run fetches and reads only
    the dataset it uses; each function fetches the eight files into
    ``data/01_raw/planetoid/``, checks them again and returns
    :func:`load_planetoid`'s dict. Raw data is read-only: ``save`` refuses.

    Example::

        cora_gcn.planetoid:
          type: advanced_dl.io.PlanetoidDataset
          sha256:
            cora: {x: 23cf..., y: 9446..., ...}
            citeseer: {x: d20d..., ...}
    """

    def __init__(
        self,
        sha256: Mapping[str, Mapping[str, str]],
        *,
        source: str = "planetoid",
        raw_dir: str = str(DEFAULT_RAW_DIR),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not sha256:
            raise DatasetError("PlanetoidDataset: sha256 must name at least one dataset")
        for name, pins in sha256.items():
            unpinned = sorted(set(PLANETOID_FILES) - set(pins or {}))
            if unpinned:
                raise DatasetError(
                    f"PlanetoidDataset {name!r}: sha256 must pin every file; missing {unpinned}"
                )
        self._sha256 = {name: dict(pins) for name, pins in sha256.items()}
        self._source = source
        self._raw_dir = Path(raw_dir)
        self.metadata = metadata

    @staticmethod
    def _relative_path(name: str, file: str) -> str:
        return f"ind.{name}.{file}"

    def _load_one(self, name: str) -> dict[str, Any]:
        pins = self._sha256[name]
        paths = {
            file: fetch(
                self._source,
                self._relative_path(name, file),
                sha256=pins[file],
                raw_dir=self._raw_dir,
            )
            for file in PLANETOID_FILES
        }
        return load_planetoid(paths, pins)

    def load(self) -> dict[str, Callable[[], dict[str, Any]]]:
        return {name: functools.partial(self._load_one, name) for name in self._sha256}

    def save(self, data: Any) -> None:
        raise DatasetError("Planetoid files are raw data, never written")

    def _exists(self) -> bool:
        return all(
            (self._raw_dir / self._source / self._relative_path(name, file)).is_file()
            for name in self._sha256
            for file in PLANETOID_FILES
        )

    def _describe(self) -> dict[str, Any]:
        return {"datasets": sorted(self._sha256), "source": self._source}
