"""The Planetoid files on small copies written by the test: layout, checksums, refusal."""

from __future__ import annotations

import collections
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import yaml
from kedro.io import DatasetError
from kedro.io.core import parse_dataset_definition

from advanced_dl.io.planetoid import (
    PLANETOID_FILES,
    PlanetoidDataset,
    PlanetoidFileError,
    file_sha256,
    load_planetoid,
)
from tests.conftest import REPO_ROOT


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
    data = load_planetoid(paths, sha256=hashes(paths))
    expected_features = np.arange(24, dtype=np.float32).reshape(6, 4) % 2
    np.testing.assert_array_equal(data["features"].toarray(), expected_features)
    np.testing.assert_array_equal(data["labels"], [0, 1, 2, 0, 1, 2])
    adjacency = data["adjacency"].toarray()
    expected = np.zeros((6, 6), dtype=np.float32)
    for i, j in [(0, 1), (1, 2), (3, 4), (5, 0)]:
        expected[i, j] = expected[j, i] = 1.0
    np.testing.assert_array_equal(adjacency, expected)
    assert data["train_index"].tolist() == [0, 1]
    assert data["test_index"].tolist() == [4, 5]
    assert data["n_known"] == 4


def test_a_file_with_another_checksum_is_refused_before_unpickling(tmp_path):
    paths = write_planetoid(tmp_path)
    pinned = hashes(paths)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    paths["graph"].write_bytes(pickle.dumps(Exploit(), protocol=2))
    with pytest.raises(PlanetoidFileError, match=r"Refusing to unpickle .*ind\.tiny\.graph"):
        load_planetoid(paths, sha256=pinned)
    assert not marker.exists()
    # Even with its own hash pinned, the unpickler resolves none but the expected classes.
    with pytest.raises(pickle.UnpicklingError, match="not allowed in a Planetoid file"):
        load_planetoid(paths, sha256=hashes(paths))
    assert not marker.exists()


def test_size_mismatches_are_named(tmp_path):
    paths = write_planetoid(tmp_path)
    paths["test.index"].write_text("5\n")
    with pytest.raises(PlanetoidFileError, match="lists 1 nodes, tx has 2 rows"):
        load_planetoid(paths, sha256=hashes(paths))


def test_dataset_fetches_every_file_and_checks_the_catalog_pins(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "planetoid"
    mirror.mkdir(parents=True)
    pinned = hashes(write_planetoid(mirror))
    monkeypatch.setenv("ADVANCED_DL_DATA_MIRROR", str(tmp_path / "mirror"))
    dataset = PlanetoidDataset("tiny", pinned, raw_dir=str(tmp_path / "raw"))
    assert not dataset.exists()
    data = dataset.load()
    assert dataset.exists() and data["labels"].tolist() == [0, 1, 2, 0, 1, 2]
    with pytest.raises(DatasetError, match="raw data"):
        dataset.save(data)
    with pytest.raises(DatasetError, match=r"missing \['graph'\]"):
        PlanetoidDataset("tiny", {k: v for k, v in pinned.items() if k != "graph"})
    wrong = {**pinned, "x": "0" * 64}
    with pytest.raises(Exception, match=r"ind\.tiny\.x"):
        PlanetoidDataset("tiny", wrong, raw_dir=str(tmp_path / "raw2")).load()


def test_catalog_pins_every_cora_planetoid_file():
    catalog = yaml.safe_load((REPO_ROOT / "conf/base/catalog_cora_gcn.yml").read_text())
    dataset_class, arguments = parse_dataset_definition(dict(catalog["cora_gcn.planetoid"]))
    assert dataset_class is PlanetoidDataset and arguments["name"] == "cora"
    assert set(arguments["sha256"]) == set(PLANETOID_FILES)
    assert all(len(value) == 64 for value in arguments["sha256"].values())
