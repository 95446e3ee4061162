"""NAB's label files mapped to rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advanced_dl.features.series import InvalidSeriesError
from advanced_dl.nab.windows import labelled_rows, window_of_rows

TIMES = pd.Series(
    pd.to_datetime(
        [
            "2015-01-01 00:00",
            "2015-01-01 00:05",
            "2015-01-01 00:10",
            "2015-01-01 00:05",
            "2015-01-01 00:15",
            "2015-01-01 00:20",
            "2015-01-01 00:25",
        ]
    )
)  # fmt: skip  (row 3 goes back in time, as in machine_temperature_system_failure)


def test_labels_mark_every_row_at_a_labelled_timestamp():
    labels = labelled_rows(TIMES, ["2015-01-01 00:05:00", "2015-01-01 00:25:00"])
    np.testing.assert_array_equal(labels, [0, 1, 0, 1, 0, 0, 1])


def test_a_window_runs_from_its_first_to_its_last_row_in_file_order():
    spans = [
        ["2015-01-01 00:05:00", "2015-01-01 00:10:00"],
        ["2015-01-01 00:20", "2015-01-01 00:25"],
    ]
    np.testing.assert_array_equal(window_of_rows(TIMES, spans, "s.csv"), [-1, 0, 0, 0, -1, 1, 1])


def test_empty_and_overlapping_windows_are_named():
    with pytest.raises(InvalidSeriesError, match=r"s\.csv: window 0 .* holds no row"):
        window_of_rows(TIMES, [["2016-01-01", "2016-01-02"]], "s.csv")
    overlapping = [
        ["2015-01-01 00:05", "2015-01-01 00:15"],
        ["2015-01-01 00:10", "2015-01-01 00:20"],
    ]
    with pytest.raises(InvalidSeriesError, match="window 1 overlaps"):
        window_of_rows(TIMES, overlapping, "s.csv")
