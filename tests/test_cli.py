"""``kedro run`` without a pipeline runs each registered pipeline in its own session."""

from __future__ import annotations

import click
import pytest
from kedro.framework.project import configure_project

from advanced_dl import cli
from tests.conftest import REPO_ROOT


@pytest.fixture
def recorded_runs(monkeypatch):
    calls: list[dict] = []
    monkeypatch.setattr(cli.kedro_run, "callback", lambda **options: calls.append(options) or {})
    configure_project("advanced_dl")
    monkeypatch.chdir(REPO_ROOT)
    return calls


def _options(**selection):
    options = {name: None for name in ("pipeline", "tags", "env", "params")}
    options.update(pipelines=[], node_names=(), from_nodes=[], to_nodes=[], namespaces=[])
    options.update(selection)
    return options


def test_plain_run_runs_every_pipeline_separately(recorded_runs):
    cli._run(**_options(params={"seed": 7}))
    assert [call["pipelines"] for call in recorded_runs] == [
        ["cora_gcn"],
        ["imdb_transformer"],
        ["mdn_synthetic"],
        ["nab_anomaly"],
    ]
    assert all(call["params"] == {"seed": 7} for call in recorded_runs)


@pytest.mark.parametrize(
    "selection",
    [{"pipeline": "mdn_synthetic"}, {"pipelines": ["cora_gcn"]}, {"node_names": ("a",)}],
)
def test_a_selection_keeps_kedros_single_run(recorded_runs, selection):
    cli._run(**_options(**selection))
    assert len(recorded_runs) == 1
    assert recorded_runs[0] == _options(**selection)


def test_prune_versions_keeps_the_newest_of_each_dataset(tmp_path):
    for name, versions in (("a.parquet", 4), ("b.json", 1)):
        for k in range(versions):
            folder = tmp_path / "03_primary" / "x" / name / f"2026-01-0{k + 1}T00.00.00.000Z-1"
            folder.mkdir(parents=True)
            (folder / name).write_text("data")
    (tmp_path / "01_raw" / "nab").mkdir(parents=True)  # not versioned: left alone
    deleted = cli.prune_versions(tmp_path, keep=2)
    assert sorted(p.name for p in deleted) == [
        "2026-01-01T00.00.00.000Z-1",
        "2026-01-02T00.00.00.000Z-1",
    ]
    remaining = sorted(p.name for p in (tmp_path / "03_primary/x/a.parquet").iterdir())
    assert remaining == ["2026-01-03T00.00.00.000Z-1", "2026-01-04T00.00.00.000Z-1"]
    assert (tmp_path / "03_primary/x/b.json").exists() and (tmp_path / "01_raw/nab").exists()
    with pytest.raises(click.BadParameter):
        cli.prune_versions(tmp_path, keep=0)


def test_prune_versions_deletes_what_ended_runs_left_unfinished(tmp_path):
    import os

    staging = tmp_path / "03_primary" / "x" / ".unfinished" / "a.parquet"
    ended = staging / "2026-01-01T00.00.00.000Z-999999999"  # no such process
    running = staging / f"2026-01-02T00.00.00.000Z-{os.getpid()}"
    for folder in (ended, running):
        folder.mkdir(parents=True)
        (folder / "a.parquet").write_text("data")
    finished = tmp_path / "03_primary" / "x" / "a.parquet" / "2026-01-01T00.00.00.000Z-1"
    finished.mkdir(parents=True)
    (finished / "a.parquet").write_text("data")

    assert cli.prune_versions(tmp_path, keep=1) == [ended]
    assert running.exists() and finished.exists()


@pytest.mark.slow
def test_a_refused_run_says_what_is_wrong_in_a_few_lines(kedro_project):
    from tests.conftest import run_kedro

    completed = run_kedro(
        kedro_project,
        "run",
        "--pipelines",
        "mdn_synthetic",
        "--params",
        "mdn_synthetic.training.epochs=0",
        expect_failure=True,
    )
    output = (completed.stdout + completed.stderr).strip().splitlines()
    assert len(output) <= 12, output  # a few log lines, then the error
    errors = completed.stderr.strip().splitlines()
    errors = errors[errors.index("Error: Invalid parameters:") :]
    assert len(errors) == 3, completed.stderr
    assert "'mdn_synthetic.training.epochs'" in errors[1] and "got 0" in errors[1]
    assert "Traceback" not in completed.stdout + completed.stderr
    logs = list((kedro_project / "logs").glob("error-*.log"))
    assert len(logs) == 1 and str(logs[0].relative_to(kedro_project)) in errors[2]
    assert "Traceback (most recent call last)" in logs[0].read_text()
