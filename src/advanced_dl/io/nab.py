"""NAB series fetched on demand: the series are parameters, so no file is fixed in the catalog."""

from __future__ import annotations

import difflib
import io
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from advanced_dl.data.acquisition import DEFAULT_RAW_DIR, fetch
from advanced_dl.features.series import InvalidSeriesError

# What a series of one's own must be (nab_anomaly.own_series.path).
EXPECTED_CSV = "UTF-8 CSV with a header line timestamp,value and one row per time step"


class UnknownSeriesError(KeyError):
    """A series name that is not in the NAB corpus (the message lists close matches)."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


def close_matches_message(name: str, known: list[str], what: str) -> str:
    """``'<name>' is not a <what>; did you mean ...?`` using difflib over ``known``."""
    matches = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    if not matches:  # a bare file name such as "nyc_taxi.csv" still finds its category
        stem = name.rsplit("/", 1)[-1]
        matches = [k for k in known if stem and stem in k][:5]
    hint = (
        f"close matches: {matches}"
        if matches
        else f"the {len(known)} known names start {known[:5]}"
    )
    return f"{name!r} is not a {what}; {hint}"


class LazyNabSeries(Mapping):
    """``{series name: loader}``; calling a loader fetches that CSV and reads it as strings.

    Names are ``"<category>/<file>.csv"``. Values are read as text (``dtype=str``)
    so validation can report unparseable entries instead of pandas guessing.
    """

    def __init__(self, names: list[str], fetch_series: Callable[[str], Path]) -> None:
        self._names = sorted(names)
        self._fetch_series = fetch_series

    def __getitem__(self, name: str) -> Callable[[], pd.DataFrame]:
        if name not in self._names:
            raise UnknownSeriesError(close_matches_message(name, self._names, "NAB series"))

        def load() -> pd.DataFrame:
            path = self._fetch_series(name)
            return pd.read_csv(path, dtype=str, keep_default_na=False)

        return load

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class NabSeriesDataset(AbstractDataset):
    """Load a lazy mapping of every NAB series (names from the labels file).

    The labels file (``labels/combined_labels.json``) lists all 58 series; it is
    fetched on load. Each series CSV is fetched only when its loader is called,
    into ``data/01_raw/nab/data/<category>/<file>.csv``, and checked against
    ``sha256[name]`` when the catalog pins one. Raw data is never written back.

    Example::

        nab_anomaly.series:
          type: advanced_dl.io.NabSeriesDataset
          labels_sha256: 98724014...
          sha256:
            artificialWithAnomaly/art_daily_jumpsup.csv: f79f92b9...
    """

    def __init__(
        self,
        *,
        source: str = "nab",
        labels_path: str = "labels/combined_labels.json",
        labels_sha256: str | None = None,
        sha256: dict[str, str] | None = None,
        raw_dir: str = str(DEFAULT_RAW_DIR),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._source = source
        self._labels_path = labels_path
        self._labels_sha256 = labels_sha256
        self._sha256 = dict(sha256 or {})
        self._raw_dir = Path(raw_dir)
        self.metadata = metadata

    def _fetch_series(self, name: str) -> Path:
        return fetch(
            self._source, f"data/{name}", sha256=self._sha256.get(name), raw_dir=self._raw_dir
        )

    def load(self) -> LazyNabSeries:
        labels_file = fetch(
            self._source, self._labels_path, sha256=self._labels_sha256, raw_dir=self._raw_dir
        )
        with labels_file.open() as stream:
            names = list(json.load(stream))
        return LazyNabSeries(names, self._fetch_series)

    def save(self, data: Any) -> None:
        raise DatasetError("NAB series are raw data and are never written by the project")

    def _exists(self) -> bool:
        return (self._raw_dir / self._source / self._labels_path).is_file()

    def _describe(self) -> dict[str, Any]:
        return {
            "source": self._source,
            "labels_path": self._labels_path,
            "pinned": sorted(self._sha256),
        }


class LocalSeriesDataset(AbstractDataset):
    """Load a reader of a user's own ``timestamp,value`` CSV, whose path is a parameter.

    ``load`` returns a function ``path -> table of strings``: the path comes
    from the run's parameters (``nab_anomaly.own_series.path``), so no file is
    fixed in the catalog, and the node still receives data, not a path it
    opens itself. The file is read, never written.

    Example::

        nab_anomaly.own_series_reader:
          type: advanced_dl.io.LocalSeriesDataset
    """

    def __init__(self, *, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata

    def load(self) -> Callable[[str], pd.DataFrame]:
        return read_local_series

    def save(self, data: Any) -> None:
        raise DatasetError("A user's own series is raw data and is never written by the project")

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {}


def read_local_series(path: str) -> pd.DataFrame:
    """A local CSV read as strings (validation reports unparseable entries itself).

    Raises:
        FileNotFoundError: no file at ``path``.
        InvalidSeriesError: an empty file, a file that is not UTF-8 text (the
            message says which encoding it looks like), a file that is not CSV,
            or a header without rows; each message names the file and what was expected.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(
            f"Parameter 'nab_anomaly.own_series.path': no file at {str(file)!r}; expected a "
            f"{EXPECTED_CSV}"
        )
    data = file.read_bytes()
    if not data.strip():
        raise InvalidSeriesError(f"{file}: the file is empty; expected a {EXPECTED_CSV}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidSeriesError(
            f"{file}: not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start}); it "
            f"looks like {_likely_encoding(data)}. Expected a {EXPECTED_CSV}: save it as UTF-8"
        ) from error
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InvalidSeriesError(
            f"{file}: not readable as CSV ({error}); expected a {EXPECTED_CSV}"
        ) from error
    if frame.empty:
        raise InvalidSeriesError(
            f"{file}: a header ({', '.join(map(str, frame.columns))}) and no rows; expected a "
            f"{EXPECTED_CSV}"
        )
    return frame


def _likely_encoding(data: bytes) -> str:
    """A guess at a non-UTF-8 text's encoding, for the error message."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 (it starts with a UTF-16 byte-order mark)"
    if data.count(b"\x00") > len(data) // 4:
        return "UTF-16 without a byte-order mark (every other byte is zero)"
    return "Latin-1 (ISO-8859-1) or Windows-1252"
