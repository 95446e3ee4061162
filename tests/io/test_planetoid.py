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


def write_files(folder: Path, name: str, objects: dict, test_index: str) -> dict[str, Path]:
    """``ind.<name>.<file>``: each object pickled as the Planetoid files are, and the index."""
    paths = {}
    for file, value in objects.items():
        paths[file] = folder / f"ind.{name}.{file}"
        paths[file].write_bytes(pickle.dumps(value, protocol=2))
    paths["test.index"] = folder / f"ind.{name}.test.index"
    paths["test.index"].write_text(test_index)
    return paths


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
    return write_files(folder, "tiny", objects, "5\n4\n")


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


def write_citeseer_like(folder: Path) -> dict[str, Path]:
    """Eight nodes: 0-3 known; test ids 7 and 5 only, so nodes 4 and 6 are isolated gaps."""
    features = np.eye(8, dtype=np.float32)  # row i marks node i
    objects = {
        "x": sp.csr_matrix(features[:2]),
        "y": one_hot([0, 1]),
        "allx": sp.csr_matrix(features[:4]),
        "ally": one_hot([0, 1, 2, 0]),
        "tx": sp.csr_matrix(features[[7, 5]]),
        "ty": one_hot([2, 1]),
        "graph": collections.defaultdict(
            list, {0: [1], 1: [0], 2: [7], 3: [5], 4: [], 5: [3], 6: [], 7: [2]}
        ),
    }
    return write_files(folder, "gappy", objects, "7\n5\n")


def test_test_rows_land_on_their_node_ids_and_gaps_stay_empty(tmp_path):
    paths = write_citeseer_like(tmp_path)
    data = load_planetoid(paths, sha256=hashes(paths))
    features = data["features"].toarray()
    assert features.shape == (8, 8)
    # Each row marks its own node id: tx rows were placed by test.index, not appended.
    for node in (0, 1, 2, 3, 5, 7):
        assert features[node].tolist() == np.eye(8)[node].tolist()
    assert not features[4].any() and not features[6].any()
    np.testing.assert_array_equal(data["labels"], [0, 1, 2, 0, -1, 1, -1, 2])
    assert data["test_index"].tolist() == [5, 7]
    adjacency = data["adjacency"].toarray()
    assert adjacency[2, 7] == adjacency[7, 2] == adjacency[3, 5] == 1.0
    assert not adjacency[4].any() and not adjacency[6].any()


def test_a_test_index_beyond_the_graph_is_refused(tmp_path):
    paths = write_citeseer_like(tmp_path)
    paths["test.index"].write_text("7\n9\n")
    with pytest.raises(
        PlanetoidFileError, match=r"ind\.gappy\.test\.index names nodes beyond .*8 nodes.*\[9\]"
    ):
        load_planetoid(paths, sha256=hashes(paths))


def test_dataset_loads_only_the_dataset_asked_for(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "planetoid"
    mirror.mkdir(parents=True)
    pinned = hashes(write_planetoid(mirror))
    gappy = hashes(write_citeseer_like(mirror))
    monkeypatch.setenv("ADVANCED_DL_DATA_MIRROR", str(tmp_path / "mirror"))
    raw = tmp_path / "raw"
    dataset = PlanetoidDataset({"tiny": pinned, "gappy": gappy}, raw_dir=str(raw))
    assert not dataset.exists()
    loaders = dataset.load()
    assert sorted(loaders) == ["gappy", "tiny"]
    assert not (raw / "planetoid").exists()  # nothing fetched until a loader is called
    data = loaders["tiny"]()
    assert data["labels"].tolist() == [0, 1, 2, 0, 1, 2]
    assert sorted(p.name for p in (raw / "planetoid").iterdir()) == sorted(
        f"ind.tiny.{f}" for f in PLANETOID_FILES
    )
    assert not dataset.exists()  # gappy's files are still missing
    assert loaders["gappy"]()["labels"].tolist() == [0, 1, 2, 0, -1, 1, -1, 2]
    assert dataset.exists()
    with pytest.raises(DatasetError, match="raw data"):
        dataset.save(data)
    with pytest.raises(DatasetError, match=r"'tiny'.*missing \['graph'\]"):
        PlanetoidDataset({"tiny": {k: v for k, v in pinned.items() if k != "graph"}})
    wrong = {**pinned, "x": "0" * 64}
    with pytest.raises(Exception, match=r"ind\.tiny\.x"):
        PlanetoidDataset({"tiny": wrong}, raw_dir=str(tmp_path / "raw2")).load()["tiny"]()


def test_catalog_pins_every_file_of_cora_and_citeseer():
    catalog = yaml.safe_load((REPO_ROOT / "conf/base/catalog_cora_gcn.yml").read_text())
    dataset_class, arguments = parse_dataset_definition(dict(catalog["cora_gcn.planetoid"]))
    assert dataset_class is PlanetoidDataset
    assert sorted(arguments["sha256"]) == ["citeseer", "cora"]
    for pins in arguments["sha256"].values():
        assert set(pins) == set(PLANETOID_FILES)
        assert all(len(value) == 64 for value in pins.values())


@pytest.mark.slow
def test_the_mirror_citeseer_has_its_15_isolated_nodes_placed_by_id(mirror, tmp_path):
    catalog = yaml.safe_load((REPO_ROOT / "conf/base/catalog_cora_gcn.yml").read_text())
    pins = catalog["cora_gcn.planetoid"]["sha256"]
    data = PlanetoidDataset(pins, raw_dir=str(tmp_path))._load_one("citeseer")
    assert data["features"].shape == (3327, 3703)
    assert data["train_index"].size == 120 and data["test_index"].size == 1000
    test_ids = set(data["test_index"].tolist())
    gaps = [node for node in range(2312, 3327) if node not in test_ids]
    assert len(gaps) == 15
    assert (data["labels"][gaps] == -1).all()
    assert data["features"][gaps].nnz == 0
    assert int(data["labels"].max()) + 1 == 6
