"""RemoteFileDataset: a raw file fetched on first use, read through another dataset."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DatasetError

from advanced_dl.data import acquisition
from advanced_dl.io import RemoteFileDataset


def test_remote_file_dataset_fetches_and_parses(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "nab" / "data"
    mirror.mkdir(parents=True)
    (mirror / "s.csv").write_text("timestamp,value\n2014-01-01 00:00:00,1.5\n")
    monkeypatch.setenv(acquisition.MIRROR_ENV_VAR, str(tmp_path / "mirror"))
    raw = tmp_path / "raw"
    as_path = RemoteFileDataset(source="nab", relative_path="data/s.csv", raw_dir=str(raw))
    assert as_path.load() == raw / "nab" / "data" / "s.csv"
    as_table = RemoteFileDataset(
        source="nab", relative_path="data/s.csv", raw_dir=str(raw), dataset="pandas.CSVDataset"
    )
    assert as_table.load()["value"].tolist() == [1.5]
    with pytest.raises(DatasetError, match="raw data"):
        as_table.save(pd.DataFrame())
