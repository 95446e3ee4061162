"""The NAB detector's settings: the selection grid's combinations."""

from __future__ import annotations

import pytest
import yaml

from advanced_dl.nab.settings import DetectorSettings, SelectionGrid
from tests.conftest import REPO_ROOT


def _detector() -> DetectorSettings:
    path = REPO_ROOT / "conf" / "base" / "parameters_nab_benchmark.yml"
    return DetectorSettings.model_validate(
        yaml.safe_load(path.read_text())["nab_benchmark"]["detector"]
    )


def test_the_grid_tries_every_combination_history_included_in_its_order():
    grid = SelectionGrid(
        average_rows=[1, 5],
        history_rows=[500, 8640],
        new_high_rows=[100],
        combine=["max"],
        out_of_range=[None],
    )
    detector = _detector()
    combinations = grid.combinations(detector)
    assert [(c.scoring.average_rows, c.scoring.history_rows) for c in combinations] == [
        (1, 500),
        (1, 8640),
        (5, 500),
        (5, 8640),
    ]
    # What the grid does not name stays the detector's.
    assert {c.scoring.min_history_rows for c in combinations} == {detector.scoring.min_history_rows}
    assert all(c.out_of_range is None for c in combinations)


def test_a_history_shorter_than_min_history_rows_is_refused():
    grid = SelectionGrid(
        average_rows=[1],
        history_rows=[10],
        new_high_rows=[100],
        combine=["max"],
        out_of_range=[None],
    )
    with pytest.raises(
        ValueError, match=r"min_history_rows \(20\) must not exceed history_rows \(10\)"
    ):
        grid.combinations(_detector())
