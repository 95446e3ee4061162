"""``NabSeriesDataset``: lazy, checksummed fetching of NAB series from a (fake) mirror."""

from __future__ import annotations

import hashlib
import json

import pytest
from kedro.io import DatasetError

from advanced_dl.data.acquisition import DataAcquisitionError
from advanced_dl.io import NabSeriesDataset
from advanced_dl.io.nab import LazyNabSeries, UnknownSeriesError

SERIES = "artificialWithAnomaly/tiny.csv"
CSV = "timestamp,value\n2014-04-01 00:00:00,1.5\n2014-04-01 00:05:00,2.5\n"


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch):
    root = tmp_path / "mirror"
    (root / "nab/labels").mkdir(parents=True)
    (root / "nab/data/artificialWithAnomaly").mkdir(parents=True)
    labels = {SERIES: [], "realKnownCause/nyc_taxi.csv": []}
    (root / "nab/labels/combined_labels.json").write_text(json.dumps(labels))
    (root / "nab/data" / SERIES).write_text(CSV)
    monkeypatch.setenv("ADVANCED_DL_DATA_MIRROR", str(root))
    return root


def test_series_are_fetched_only_when_read(fake_mirror, tmp_path):
    raw_dir = tmp_path / "01_raw"
    digest = hashlib.sha256(CSV.encode()).hexdigest()
    series = NabSeriesDataset(raw_dir=str(raw_dir), sha256={SERIES: digest}).load()
    assert list(series) == [SERIES, "realKnownCause/nyc_taxi.csv"]
    local = raw_dir / "nab/data" / SERIES
    assert not local.exists()
    frame = series[SERIES]()
    assert local.read_text() == CSV
    assert list(frame.columns) == ["timestamp", "value"] and frame["value"].tolist() == [
        "1.5",
        "2.5",
    ]
    with pytest.raises(UnknownSeriesError, match=r"close matches.*tiny\.csv"):
        series["artificialWithAnomaly/tiny.cvs"]


def test_checksum_mismatch_is_refused(fake_mirror, tmp_path):
    series = NabSeriesDataset(raw_dir=str(tmp_path / "01_raw"), sha256={SERIES: "0" * 64}).load()
    with pytest.raises(DataAcquisitionError, match="Checksum mismatch"):
        series[SERIES]()


def test_raw_data_is_never_saved(tmp_path):
    with pytest.raises(Exception, match="never written"):
        NabSeriesDataset(raw_dir=str(tmp_path)).save({})


def test_lazy_mapping_lists_close_matches():
    names = ["artificialNoAnomaly/square.csv", "artificialWithAnomaly/square_jump.csv"]
    mapping = LazyNabSeries(names, fetch_series=lambda name: None)
    assert len(mapping) == 2 and set(mapping) == set(names)
    with pytest.raises(UnknownSeriesError, match=r"close matches.*artificialNoAnomaly/square\.csv"):
        mapping["artificialNoAnomaly/squar.csv"]


def test_local_series_reader_reads_strings_and_names_the_parameter(tmp_path):
    from advanced_dl.io.nab import LocalSeriesDataset

    path = tmp_path / "mine.csv"
    path.write_text("timestamp,value\n2020-01-01 00:00:00,1.5\n2020-01-01 00:05:00,\n")
    read = LocalSeriesDataset().load()
    frame = read(str(path))
    assert frame["value"].tolist() == ["1.5", ""]  # as written: validation reports the gap
    with pytest.raises(FileNotFoundError, match=r"nab_anomaly\.own_series\.path.*nothere\.csv"):
        read(str(tmp_path / "nothere.csv"))
    with pytest.raises(DatasetError, match="never written"):
        LocalSeriesDataset().save(frame)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", r"mine\.csv: the file is empty; expected a UTF-8 CSV with a header line timestamp"),
        (b"  \n", r"mine\.csv: the file is empty"),
        (
            "timestamp,value\n2020-01-01 00:00:00,1.5\n".encode("utf-16"),
            r"mine\.csv: not UTF-8 text \(byte 0xff at offset 0\); it looks like UTF-16 \(it "
            r"starts with a UTF-16 byte-order mark\)\. Expected a UTF-8 CSV .*save it as UTF-8",
        ),
        (
            "timestamp,value,note\n2020-01-01 00:00:00,1.5,caf\u00e9\n".encode("latin-1"),
            r"mine\.csv: not UTF-8 text \(byte 0xe9 at offset 48\); it looks like Latin-1",
        ),
        (b"timestamp,value\n", r"mine\.csv: a header \(timestamp, value\) and no rows"),
    ],
    ids=["empty", "blank", "utf-16", "latin-1", "header-only"],
)
def test_local_series_reader_names_the_file_and_what_it_expected(tmp_path, content, expected):
    from advanced_dl.features.series import InvalidSeriesError
    from advanced_dl.io.nab import read_local_series

    path = tmp_path / "mine.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidSeriesError, match=expected):
        read_local_series(str(path))
    assert path.read_bytes() == content  # raw data is never modified
