"""The Planetoid loader on small files written by the test: layout, checksums, refusal."""

from __future__ import annotations

import collections
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import yaml

from advanced_dl.pipelines.cora_gcn.planetoid import (
    PLANETOID_CORA_SHA256,
    PLANETOID_FILES,
    PlanetoidFileError,
    file_sha256,
    load_planetoid,
)

REPO_ROOT = Path(__file__).resolve().parents[3]


def one_hot(classes: list[int], n_classes: int = 3) -> np.ndarray:
    return np.eye(n_classes, dtype=np.int32)[classes]


def write_planetoid(folder: Path) -> dict[str, Path]:
    """Six nodes: 0-1 train, 0-3 allx, test nodes listed as 5 then 4 (tx rows in that order)."""
    features = np.arange(6 * 4, dtype=np.float32).reshape(6, 4) % 2
    objects = {
        "x": sp.csr_matrix(features[:2]),
        "y": one_hot([0, 1]),
        "allx": sp.csr_matrix(features[:4]),
        "ally": one_hot([0, 1, 2, 0]),
        "tx": sp.csr_matrix(features[[5, 4]]),
        "ty": one_hot([2, 1]),
        # Node 3 lists a self-loop and a duplicate; edges are one-directional on purpose.
        "graph": collections.defaultdict(list, {0: [1], 1: [2], 3: [3, 4, 4], 5: [0]}),
    }
    paths = {}
    for name, value in objects.items():
        paths[name] = folder / f"ind.tiny.{name}"
        paths[name].write_bytes(pickle.dumps(value, protocol=2))
    paths["test.index"] = folder / "ind.tiny.test.index"
    paths["test.index"].write_text("5\n4\n")
    return paths


def hashes(paths: dict[str, Path]) -> dict[str, str]:
    return {name: file_sha256(path) for name, path in paths.items()}


def test_loader_rebuilds_nodes_labels_graph_and_split(tmp_path):
    paths = write_planetoid(tmp_path)
    data = load_planetoid(paths, sha256=hashes(paths), val_size=1)
    expected_features = np.arange(24, dtype=np.float32).reshape(6, 4) % 2
    np.testing.assert_array_equal(data["features"].toarray(), expected_features)
    np.testing.assert_array_equal(data["labels"], [0, 1, 2, 0, 1, 2])
    adjacency = data["adjacency"].toarray()
    expected = np.zeros((6, 6), dtype=np.float32)
    for i, j in [(0, 1), (1, 2), (3, 4), (5, 0)]:
        expected[i, j] = expected[j, i] = 1.0
    np.testing.assert_array_equal(adjacency, expected)
    assert data["train_index"].tolist() == [0, 1]
    assert data["val_index"].tolist() == [2]
    assert data["test_index"].tolist() == [4, 5]


def test_a_file_with_another_checksum_is_refused_before_unpickling(tmp_path):
    paths = write_planetoid(tmp_path)
    pinned = hashes(paths)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    paths["graph"].write_bytes(pickle.dumps(Exploit(), protocol=2))
    with pytest.raises(PlanetoidFileError, match=r"Refusing to unpickle .*ind\.tiny\.graph"):
        load_planetoid(paths, sha256=pinned, val_size=1)
    assert not marker.exists()
    # Even with its own hash pinned, the unpickler resolves none but the expected classes.
    with pytest.raises(pickle.UnpicklingError, match="not allowed in a Planetoid file"):
        load_planetoid(paths, sha256=hashes(paths), val_size=1)
    assert not marker.exists()


def test_default_pins_refuse_other_files_and_size_mismatches_are_named(tmp_path):
    paths = write_planetoid(tmp_path)
    with pytest.raises(PlanetoidFileError, match="pinned value is 23cfa55d"):
        load_planetoid(paths)  # the Cora pins
    paths["test.index"].write_text("5\n")
    with pytest.raises(PlanetoidFileError, match="lists 1 nodes, tx has 2 rows"):
        load_planetoid(paths, sha256=hashes(paths), val_size=1)


def test_catalog_pins_the_same_checksums_as_the_loader():
    catalog = yaml.safe_load((REPO_ROOT / "conf/base/catalog_cora_gcn.yml").read_text())
    for name in PLANETOID_FILES:
        entry = catalog[f"cora_gcn.planetoid_{name.replace('.', '_')}"]
        assert entry["relative_path"] == f"ind.cora.{name}"
        assert entry["sha256"] == PLANETOID_CORA_SHA256[name]
