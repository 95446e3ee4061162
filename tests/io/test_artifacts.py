"""VersionedMlflowArtifactDataset: each run writes its own version, then logs it to its run."""

from __future__ import annotations

import mlflow
import pandas as pd
from kedro.io import Version

from advanced_dl.io import VersionedMlflowArtifactDataset


def test_versioned_artifact_is_written_per_version_and_logged(tmp_path, tracking):
    path = tmp_path / "report.csv"
    config = {"type": "pandas.CSVDataset", "filepath": str(path), "save_args": {"index": False}}
    first = VersionedMlflowArtifactDataset(
        dataset=config, artifact_path="reports", version=Version(None, "v1")
    )
    assert first._version == Version(None, "v1")
    first.save(pd.DataFrame({"a": [1]}))
    VersionedMlflowArtifactDataset(dataset=config, version=Version(None, "v2")).save(
        pd.DataFrame({"a": [2]})
    )
    assert sorted(p.name for p in path.iterdir()) == ["v1", "v2"]
    newest = VersionedMlflowArtifactDataset(dataset=config, version=Version(None, None))
    assert newest.load()["a"].tolist() == [2]  # an unpinned load reads the newest
    client = mlflow.tracking.MlflowClient()
    logged = [a.path for a in client.list_artifacts(tracking.info.run_id, "reports")]
    assert logged == ["reports/report.csv"]
