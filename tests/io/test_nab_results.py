"""NabResultsDataset: NAB's results folder, written whole or not at all, versioned, logged."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from kedro.io import DatasetError, Version

from advanced_dl.io.nab_results import NabResultsDataset

KEY = "lstmVae/realKnownCause/lstmVae_nyc_taxi.csv"


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": ["2014-07-01 00:00:00", "2014-07-01 00:30:00"],
            "value": [10844.0, 8127.0],
            "anomaly_score": [0.0, 0.93],
            "label": [0, 1],
        }
    )


def test_round_trip_as_a_folder_tree(tmp_path):
    dataset = NabResultsDataset(filepath=str(tmp_path / "results"))
    dataset.save({KEY: table()})
    assert (tmp_path / "results" / KEY).is_file()
    loaded = dataset.load()
    assert list(loaded) == [KEY]
    pd.testing.assert_frame_equal(loaded[KEY], table())


def test_bad_keys_or_columns_are_refused_and_nothing_is_left(tmp_path):
    dataset = NabResultsDataset(filepath=str(tmp_path / "results"))
    with pytest.raises(
        DatasetError, match=r"expected '<detector>/<category>/<detector>_<file>\.csv'"
    ):
        dataset.save({"nyc_taxi.csv": table()})
    with pytest.raises(DatasetError, match=r"expected columns \['timestamp', 'value'"):
        dataset.save({KEY: table().drop(columns="label")})
    assert not any(tmp_path.iterdir())


def test_an_interrupted_save_leaves_no_folder_under_the_final_name(tmp_path, monkeypatch):
    written = []
    to_csv = pd.DataFrame.to_csv

    def fail_on_second(frame, *args, **kwargs):
        if written:
            raise OSError("disk full")
        written.append(args[0])
        return to_csv(frame, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_on_second)
    dataset = NabResultsDataset(filepath=str(tmp_path / "results"))
    with pytest.raises(DatasetError, match="disk full"):
        dataset.save({KEY: table(), KEY.replace("nyc", "ny"): table()})
    assert written  # one file was written before the failure...
    assert not (tmp_path / "results").exists()  # ...but never under the final name


def test_versioned_saves_sit_side_by_side(tmp_path):
    for version in ("v1", "v2"):
        dataset = NabResultsDataset(
            filepath=str(tmp_path / "results"), version=Version(None, version)
        )
        dataset.save({KEY: table().assign(anomaly_score=[0.0, float(version[1]) / 10])})
    latest = NabResultsDataset(filepath=str(tmp_path / "results"), version=Version(None, None))
    assert latest.load()[KEY]["anomaly_score"].tolist() == [0.0, 0.2]


def test_saved_folder_is_logged_to_the_active_run(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    dataset = NabResultsDataset(filepath=str(tmp_path / "results"), artifact_path="nab_results")
    with mlflow.start_run() as run:
        dataset.save({KEY: table()})
    artifacts = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, dst_path=str(tmp_path / "got")
    )
    logged = pd.read_csv(f"{artifacts}/nab_results/{KEY}")
    pd.testing.assert_frame_equal(logged, table())
