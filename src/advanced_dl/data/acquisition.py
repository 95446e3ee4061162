"""Fetch raw files from their canonical source (or a mirror) into ``data/01_raw``.

Downloads go through `pooch`, which streams to a temporary file beside the
target, checks the SHA-256 when one is known, and only then moves the file
under its final name: an interrupted or corrupted transfer never leaves a file
that a later run would trust. A local copy is reused without touching the
network.

``ADVANCED_DL_DATA_MIRROR`` replaces every canonical location with a mirror,
either a directory or a base URL, laid out as ``<mirror>/<source>/<path>``
(the README's "Data" section).
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import pooch

logger = logging.getLogger(__name__)

MIRROR_ENV_VAR = "ADVANCED_DL_DATA_MIRROR"
DEFAULT_RAW_DIR = Path("data/01_raw")

#: Canonical base location of each data source; a file's URL is base + its relative path.
SOURCES: dict[str, str] = {
    "nab": "https://raw.githubusercontent.com/numenta/NAB/master/",
    "cora": "https://linqs-data.soe.ucsc.edu/public/lbc/",
    "planetoid": "https://github.com/kimiyoung/planetoid/raw/master/data/",
    "imdb": "https://ai.stanford.edu/~amaas/data/sentiment/",
}

_COPY_CHUNK_BYTES = 1 << 20


class DataAcquisitionError(RuntimeError):
    """A raw file could not be fetched, or did not match its checksum."""


def _mirror_from_env() -> str | None:
    return os.environ.get(MIRROR_ENV_VAR) or None


def _is_url(location: str) -> bool:
    return "://" in location


def source_location(source: str, relative_path: str, mirror: str | None = None) -> str:
    """Where ``relative_path`` of ``source`` is fetched from: the mirror if set, else canonical."""
    if source not in SOURCES:
        raise DataAcquisitionError(
            f"Unknown data source {source!r}; expected one of {sorted(SOURCES)}"
        )
    relative_path = relative_path.lstrip("/")
    if mirror is None:
        return SOURCES[source] + relative_path
    if _is_url(mirror):
        return f"{mirror.rstrip('/')}/{source}/{relative_path}"
    return str(Path(mirror).expanduser().resolve() / source / relative_path)


class _MirrorDirectoryCopier:
    """A pooch downloader that copies from a local mirror folder, with a progress bar."""

    def __call__(self, url: str, output_file: str, pooch_instance: object) -> None:
        from tqdm.auto import tqdm

        source = Path(url)
        if not source.is_file():
            raise FileNotFoundError(f"{source} is not in the mirror")
        size = source.stat().st_size
        with (
            source.open("rb") as reader,
            open(output_file, "wb") as writer,
            tqdm(total=size, unit="B", unit_scale=True, desc=source.name, leave=False) as bar,
        ):
            while chunk := reader.read(_COPY_CHUNK_BYTES):
                writer.write(chunk)
                bar.update(len(chunk))


def fetch(
    source: str,
    relative_path: str,
    *,
    sha256: str | None = None,
    raw_dir: str | Path = DEFAULT_RAW_DIR,
    mirror: str | None = None,
    progressbar: bool = True,
) -> Path:
    """Make ``<raw_dir>/<source>/<relative_path>`` present locally and return its path.

    Args:
        source: a key of :data:`SOURCES` (``"nab"``, ``"cora"``, ``"planetoid"``, ``"imdb"``).
        relative_path: the file's path below the source's base location.
        sha256: expected SHA-256 hex digest; a mismatch removes the download
            and raises. None skips the check (the file is still written atomically).
        raw_dir: the project's raw-data layer.
        mirror: directory or base URL replacing the canonical location;
            defaults to ``$ADVANCED_DL_DATA_MIRROR``.
        progressbar: show a progress bar while transferring.

    Raises:
        DataAcquisitionError: naming the URL, the target file and the mirror variable.
    """
    mirror = mirror if mirror is not None else _mirror_from_env()
    location = source_location(source, relative_path, mirror)
    target = Path(raw_dir) / source / relative_path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    known_hash = f"sha256:{sha256}" if sha256 else None
    if mirror is not None and not _is_url(mirror):
        downloader = _MirrorDirectoryCopier()
    else:
        downloader = pooch.HTTPDownloader(progressbar=progressbar, timeout=60)
    try:
        local = pooch.retrieve(
            url=location,
            known_hash=known_hash,
            fname=target.name,
            path=target.parent,
            downloader=downloader,
        )
    except ValueError as error:  # pooch's checksum mismatch
        raise DataAcquisitionError(
            f"Checksum mismatch for {location} (target {target}): {error}. "
            "The download was discarded; nothing was written under the target name."
        ) from error
    except Exception as error:
        hint = (
            f"the mirror {mirror!r} from ${MIRROR_ENV_VAR}"
            if mirror
            else f"no mirror set; without internet access, set ${MIRROR_ENV_VAR} "
            "to a directory or base URL laid out like the canonical sources"
        )
        raise DataAcquisitionError(
            f"Could not fetch {location} into {target} ({type(error).__name__}: {error}); {hint}."
        ) from error
    return Path(local)


def extract_archive(archive: str | Path, destination: str | Path) -> Path:
    """Extract a tar archive into ``destination`` atomically and return it.

    The archive is unpacked into a temporary folder beside ``destination`` and
    renamed only when complete, so an interrupted extraction is never reused.
    An existing ``destination`` is trusted and returned as is.
    """
    archive, destination = Path(archive), Path(destination)
    if destination.is_dir():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        with tarfile.open(archive) as tar:
            # "data" refuses absolute paths, links out of the tree and device files.
            tar.extractall(staging, filter="data")
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("Extracted %s into %s", archive, destination)
    return destination
