"""A tiny synthetic NAB corpus made by the tests: three series with known windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from advanced_dl.io.nab import LazyNabSeries
from tests.conftest import REPO_ROOT

NS = "nab_benchmark"
START = pd.Timestamp("2015-01-01 00:00:00")
STEP = pd.Timedelta("5min")
ROWS = 400  # probationary period: 60 rows
SPIKES = {
    "artificialWithAnomaly/spike.csv": [300],
    "realKnownCause/two_spikes.csv": [180, 330],
    "artificialNoAnomaly/calm.csv": [],
}


def series_values(name: str, rows: int = ROWS) -> np.ndarray:
    """A noisy sine with a spike (+8 standard deviations) at each known anomaly."""
    rng = np.random.default_rng(len(name))
    values = 10 + np.sin(np.arange(rows) * 2 * np.pi / 24) + 0.1 * rng.standard_normal(rows)
    for row in SPIKES[name]:
        values[row] += 8.0
    return values


def raw_frame(values: np.ndarray) -> pd.DataFrame:
    """As NAB's CSV reader gives it: strings."""
    times = pd.date_range(START, periods=len(values), freq=STEP)
    return pd.DataFrame(
        {
            "timestamp": times.strftime("%Y-%m-%d %H:%M:%S"),
            "value": [repr(float(v)) for v in values],
        }
    )


def write_corpus(directory: Path, frames: dict[str, pd.DataFrame] | None = None):
    """CSV files, a lazy series mapping and the two label files, NAB-style.

    Each anomaly gets a window of 20 rows before and after it.
    """
    frames = frames or {name: raw_frame(series_values(name)) for name in SPIKES}
    paths = {}
    for name, frame in frames.items():
        paths[name] = directory / name.replace("/", "__")
        frame.to_csv(paths[name], index=False)
    labels = {name: [str(START + row * STEP) for row in SPIKES.get(name, [])] for name in frames}
    windows = {
        name: [[str(START + (row - 20) * STEP), str(START + (row + 20) * STEP)] for row in rows]
        for name, rows in ((n, SPIKES.get(n, [])) for n in frames)
    }
    return LazyNabSeries(list(frames), fetch_series=paths.__getitem__), labels, windows


def tiny_parameters() -> dict:
    """The project's parameters with a small window and one epoch."""
    path = REPO_ROOT / "conf" / "base" / "parameters_nab_benchmark.yml"
    params = yaml.safe_load(path.read_text())[NS]
    detector = params["detector"]
    detector["lstm_vae"]["look_back"] = 8
    detector["lstm_vae"]["training"].update(epochs=1, batch_size=16)
    detector["next_value"].update(look_back=8, epochs=2, hidden_units=8)
    detector["scoring"].update(history_rows=200, min_history_rows=10, new_high_rows=20)
    params["selection"].update(average_rows=[1, 2], history_rows=[200], new_high_rows=[20])
    params["dask"]["workers"] = 1
    return params
