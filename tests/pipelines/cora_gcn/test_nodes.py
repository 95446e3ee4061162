"""``cora_gcn`` nodes on a tiny hand-made citation graph."""

from __future__ import annotations

import hashlib
import io
import logging
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from advanced_dl.pipelines.cora_gcn.nodes import (
    CoraDataError,
    build_graph,
    build_graph_filter,
    build_masks,
    encode_labels,
    parse_cites,
    parse_content,
    read_cora,
    read_planetoid,
    validate_training_params,
)

# Six papers, three features, two subjects; file order matters for the masks.
CONTENT_ROWS = [
    ("p1", [1, 0, 0], "Theory"),
    ("p2", [0, 1, 0], "Neural_Networks"),
    ("p3", [1, 1, 0], "Theory"),
    ("p4", [0, 0, 1], "Neural_Networks"),
    ("p5", [1, 0, 1], "Theory"),
    ("p6", [0, 1, 1], "Neural_Networks"),
]
# cited <TAB> citing; p1-p2 is cited both ways, p3 cites itself, "ghost" is unknown.
CITES_ROWS = [
    ("p1", "p2"),
    ("p2", "p1"),
    ("p2", "p3"),
    ("p3", "p3"),
    ("p4", "p5"),
    ("p6", "p5"),
    ("ghost", "p1"),
]
EDGES = {(0, 1), (1, 2), (3, 4), (4, 5)}


def content_text(rows=CONTENT_ROWS) -> str:
    return "".join(
        "\t".join([pid, *map(str, feats), subject]) + "\n" for pid, feats, subject in rows
    )


def cites_text(rows=CITES_ROWS) -> str:
    return "".join(f"{a}\t{b}\n" for a, b in rows)


def make_archive(path: Path, content: str, cites: str) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in (("cora/cora.content", content), ("cora/cora.cites", cites)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def files_params(content: str | None = None, cites: str | None = None) -> dict:
    digest = lambda text: hashlib.sha256(text.encode()).hexdigest() if text else None  # noqa: E731
    return {
        "content": {"member": "cora/cora.content", "sha256": digest(content)},
        "cites": {"member": "cora/cora.cites", "sha256": digest(cites)},
    }


@pytest.fixture
def tiny_graph() -> dict:
    content = parse_content(content_text(), "cora.content")
    citations = parse_cites(cites_text(), "cora.cites")
    return build_graph(content, citations, {})


def test_read_cora_parses_the_archive_and_checks_member_checksums(tmp_path):
    archive = make_archive(tmp_path / "cora.tgz", content_text(), cites_text())
    content, citations = read_cora(archive, files_params(content_text(), cites_text()))
    assert content.shape == (6, 5)
    assert list(content.columns[:2]) == ["paper_id", "subject"]
    assert content["paper_id"].tolist() == ["p1", "p2", "p3", "p4", "p5", "p6"]
    assert content[["w0", "w1", "w2"]].to_numpy().tolist()[2] == [1, 1, 0]
    assert citations.shape == (7, 2)
    with pytest.raises(CoraDataError, match=r"cora\.content has SHA-256"):
        read_cora(archive, files_params(content_text() + "x", cites_text()))
    with pytest.raises(CoraDataError, match="no file 'cora/other'"):
        read_cora(archive, {**files_params(), "cites": {"member": "cora/other"}})


def test_bad_content_rows_are_named():
    rows = [*CONTENT_ROWS[:2], ("p3", [1, 0], "Theory"), *CONTENT_ROWS[3:]]
    with pytest.raises(CoraDataError, match=r"cora\.content.*line 3 \('p3': 4 columns\)"):
        parse_content(content_text(rows), "cora.content")
    rows = [*CONTENT_ROWS[:4], ("p5", [1, 2, 1], "Theory"), CONTENT_ROWS[5]]
    with pytest.raises(CoraDataError, match=r"line 5 \(paper p5, feature 1: '2'\)"):
        parse_content(content_text(rows), "cora.content")
    rows = [*CONTENT_ROWS, ("p2", [0, 0, 0], "Theory")]
    with pytest.raises(CoraDataError, match=r"duplicated: \['p2'\]"):
        parse_content(content_text(rows), "cora.content")
    with pytest.raises(CoraDataError, match=r"cora\.cites.*line 2 \(3 columns\)"):
        parse_cites("p1\tp2\np1\tp2\tp3\n", "cora.cites")


def test_graph_is_undirected_without_dangling_or_self_citations(tiny_graph, caplog):
    with caplog.at_level(logging.WARNING):
        build_graph(parse_content(content_text(), "c"), parse_cites(cites_text(), "c"), {})
    assert "Dropped 1 citations naming 1 papers absent" in caplog.text
    adjacency = tiny_graph["adjacency"].toarray()
    expected = np.zeros((6, 6), dtype=np.float32)
    for i, j in EDGES:
        expected[i, j] = expected[j, i] = 1.0
    np.testing.assert_array_equal(adjacency, expected)
    assert tiny_graph["features"].shape == (6, 3)
    assert tiny_graph["node_ids"].tolist() == ["p1", "p2", "p3", "p4", "p5", "p6"]


def test_filter_matches_dense_numpy(tiny_graph):
    graph_filter = build_graph_filter(tiny_graph).toarray()
    a_plus_i = tiny_graph["adjacency"].toarray() + np.eye(6)
    d_inv_sqrt = np.diag(1.0 / np.sqrt(a_plus_i.sum(axis=1)))
    expected = d_inv_sqrt @ a_plus_i @ d_inv_sqrt
    assert graph_filter.dtype == np.float32
    np.testing.assert_allclose(graph_filter, expected, rtol=1e-6)
    np.testing.assert_allclose(graph_filter, graph_filter.T)


def test_labels_are_one_hot_in_sorted_class_order(tiny_graph):
    labels, class_names = encode_labels(tiny_graph)
    assert class_names == ["Neural_Networks", "Theory"]
    assert labels.dtype == np.float32
    np.testing.assert_array_equal(labels.argmax(axis=1), [1, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(labels.sum(axis=1), np.ones(6))


def test_reference_masks_take_first_per_class_then_validation_then_test(tiny_graph):
    labels, _ = encode_labels(tiny_graph)
    masks = build_masks(tiny_graph, labels, {"train_per_class": 1, "val_size": 2, "test_size": 2})
    assert np.flatnonzero(masks["train"]).tolist() == [0, 1]
    assert np.flatnonzero(masks["val"]).tolist() == [2, 3]
    assert np.flatnonzero(masks["test"]).tolist() == [4, 5]
    with pytest.raises(ValueError, match="exceed the 4 labelled nodes left"):
        build_masks(tiny_graph, labels, {"train_per_class": 1, "val_size": 3, "test_size": 2})
    with pytest.raises(ValueError, match="reference_split.val_size"):
        build_masks(tiny_graph, labels, {"train_per_class": 1, "val_size": 0, "test_size": 2})


def test_planetoid_masks_use_the_given_indices(tiny_graph):
    labels, _ = encode_labels(tiny_graph)
    graph = {
        **tiny_graph,
        "source": "planetoid",
        "train_index": np.array([0, 1]),
        "val_index": np.array([2]),
        "test_index": np.array([4, 5]),
    }
    masks = build_masks(graph, labels, {})
    assert [np.flatnonzero(m).tolist() for m in masks.values()] == [[0, 1], [2], [4, 5]]


def test_unknown_split_is_refused_before_anything_is_read():
    with pytest.raises(ValueError, match=r"'cora_gcn.split' must be one of .*got 'planetiod'"):
        read_planetoid("planetiod", 500)
    assert read_planetoid("reference", 500) == {}


def test_training_params_are_validated():
    model = {"hidden_units": 16, "dropout_rate": 0.5, "l2_factor": 5e-4}
    training = {"learning_rate": 0.01, "epochs": 200, "early_stopping_patience": 10}
    validate_training_params(model, training)
    with pytest.raises(ValueError, match="model.dropout_rate"):
        validate_training_params({**model, "dropout_rate": 1.5}, training)
    with pytest.raises(ValueError, match="training.epochs"):
        validate_training_params(model, {**training, "epochs": 0})
    with pytest.raises(ValueError, match="early_stopping_patience"):
        validate_training_params(model, {**training, "early_stopping_patience": 0})


def test_content_table_round_trips_through_pandas():
    content = parse_content(content_text(), "c")
    assert isinstance(content, pd.DataFrame)
    assert content["w0"].dtype == np.uint8
