"""The LINQS Cora archive read as tables (``advanced_dl.io.cora``), on a tiny archive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError

from advanced_dl.io.cora import (
    CoraDataError,
    CoraDataset,
    parse_cites,
    parse_content,
    read_cora_archive,
)
from tests.synthetic_cora import (
    CITES_ROWS,
    CONTENT_ROWS,
    cites_text,
    content_text,
    make_archive,
    members,
)


def test_read_cora_parses_the_archive_and_checks_member_checksums(tmp_path):
    archive = make_archive(tmp_path / "cora.tgz", content_text(), cites_text())
    tables = read_cora_archive(archive, members(content_text(), cites_text()))
    content, citations = tables["content"], tables["citations"]
    assert content.shape == (6, 5)
    assert list(content.columns[:2]) == ["paper_id", "subject"]
    assert content["paper_id"].tolist() == ["p1", "p2", "p3", "p4", "p5", "p6"]
    assert content[["w0", "w1", "w2"]].to_numpy().tolist()[2] == [1, 1, 0]
    assert citations.shape == (7, 2)
    with pytest.raises(CoraDataError, match=r"cora\.content has SHA-256"):
        read_cora_archive(archive, members(content_text() + "x", cites_text()))
    with pytest.raises(CoraDataError, match="no file 'cora/other'"):
        read_cora_archive(archive, {**members(), "cites": {"member": "cora/other"}})


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


def test_dataset_fetches_the_archive_and_gives_both_tables(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "cora").mkdir(parents=True)
    make_archive(mirror / "cora" / "cora.tgz", content_text(), cites_text())
    monkeypatch.setenv("ADVANCED_DL_DATA_MIRROR", str(mirror))
    dataset = CoraDataset(members(content_text(), cites_text()), raw_dir=str(tmp_path / "raw"))
    assert not dataset.exists()
    tables = dataset.load()
    assert dataset.exists()
    assert tables["content"]["paper_id"].tolist()[:2] == ["p1", "p2"]
    assert len(tables["citations"]) == len(CITES_ROWS)
    with pytest.raises(DatasetError, match="raw data"):
        dataset.save(tables)
    with pytest.raises(DatasetError, match=r"members\.cites\.member"):
        CoraDataset({"content": {"member": "cora/cora.content"}})


def test_content_table_survives_a_parquet_round_trip(tmp_path):
    content = parse_content(content_text(), "c")
    assert content["w0"].dtype == np.uint8
    content.to_parquet(tmp_path / "content.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "content.parquet"), content)
