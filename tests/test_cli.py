"""``kedro run`` without a pipeline runs each registered pipeline in its own session."""

from __future__ import annotations

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
