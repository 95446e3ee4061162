"""The LINQS Cora archive (``cora.tgz``) read as two tables, without extracting it.

The archive's own checksum differs between copies (mirrors rebuild it), so
the files inside are checked instead against the SHA-256 of the original
LINQS files, pinned in the catalog.
"""

from __future__ import annotations

import hashlib
import logging
import tarfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.io import DatasetError

from advanced_dl.data.acquisition import DEFAULT_RAW_DIR
from advanced_dl.io.remote import RawFileDataset

logger = logging.getLogger(__name__)

PAPER_ID = "paper_id"
SUBJECT = "subject"
MEMBER_KINDS = ("content", "cites")


class CoraDataError(ValueError):
    """The Cora files do not have the expected content."""


def _member_bytes(tar: tarfile.TarFile, archive: Path, member: str) -> bytes:
    try:
        stream = tar.extractfile(member)
    except KeyError:
        stream = None
    if stream is None:
        raise CoraDataError(f"{archive} has no file {member!r}; it holds {tar.getnames()}")
    return stream.read()


def _check_member_sha256(data: bytes, archive: Path, member: str, expected: str | None) -> None:
    if not expected:
        return
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.lower():
        raise CoraDataError(
            f"{archive}:{member} has SHA-256 {actual}, expected {expected} (the original "
            "LINQS file). Set that member's sha256 to null in conf/base/catalog_cora_gcn.yml "
            "to accept a different version."
        )


def parse_content(text: str, source: str) -> pd.DataFrame:
    """Parse ``cora.content``: ``<paper id> <F binary features> <subject>``, tab-separated.

    Returns:
        (N, F + 2) table: ``paper_id`` (str), ``subject`` (str), then features
        ``w0 .. w{F-1}`` (uint8), in file order.

    Raises:
        CoraDataError: naming ``source`` and the offending rows (1-based line
            numbers) or paper ids for wrong column counts, non-binary features
            or duplicate ids.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CoraDataError(f"{source} is empty")
    fields = [line.rstrip("\n").split("\t") for line in lines]
    widths = np.array([len(row) for row in fields])
    expected_width = int(Counter(widths.tolist()).most_common(1)[0][0])
    bad_rows = np.flatnonzero(widths != expected_width)
    if expected_width < 3 or bad_rows.size:
        shown = ", ".join(
            f"line {i + 1} ({fields[i][0]!r}: {widths[i]} columns)" for i in bad_rows[:10]
        )
        raise CoraDataError(
            f"{source}: every row must have the same number of columns (id, features, "
            f"subject; most rows have {expected_width}); {bad_rows.size} rows differ: {shown}"
        )
    paper_ids = np.array([row[0] for row in fields])
    subjects = np.array([row[-1] for row in fields])
    raw = np.array([row[1:-1] for row in fields])
    binary = (raw == "0") | (raw == "1")
    if not binary.all():
        bad = np.argwhere(~binary)
        shown = ", ".join(
            f"line {r + 1} (paper {paper_ids[r]}, feature {c}: {str(raw[r, c])!r})"
            for r, c in bad[:10]
        )
        raise CoraDataError(
            f"{source}: features must be 0 or 1; {len(bad)} values are not: {shown}"
        )
    counts = Counter(paper_ids.tolist())
    duplicates = sorted(pid for pid, count in counts.items() if count > 1)
    if duplicates:
        raise CoraDataError(
            f"{source}: paper ids must be unique; duplicated: {duplicates[:20]}"
            + (f" (and {len(duplicates) - 20} more)" if len(duplicates) > 20 else "")
        )
    features = pd.DataFrame(
        (raw == "1").astype(np.uint8), columns=[f"w{i}" for i in range(raw.shape[1])]
    )
    table = pd.DataFrame({PAPER_ID: paper_ids, SUBJECT: subjects})
    return pd.concat([table, features], axis=1)


def parse_cites(text: str, source: str) -> pd.DataFrame:
    """Parse ``cora.cites``: lines ``<cited id> <citing id>``, tab-separated.

    Returns:
        (E, 2) table ``cited, citing`` (str), in file order.

    Raises:
        CoraDataError: naming ``source`` and the lines without exactly two columns.
    """
    fields = [line.split() for line in text.splitlines() if line.strip()]
    bad = [i for i, row in enumerate(fields) if len(row) != 2]
    if bad:
        shown = ", ".join(f"line {i + 1} ({len(fields[i])} columns)" for i in bad[:10])
        raise CoraDataError(
            f"{source}: every line must be '<cited id><TAB><citing id>'; {len(bad)} are not: "
            f"{shown}"
        )
    return pd.DataFrame(fields, columns=["cited", "citing"], dtype=str)


def read_cora_archive(archive: Path, members: dict[str, dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """``cora.content`` and ``cora.cites`` from the archive, each checked against its SHA-256.

    Args:
        archive: local path of ``cora.tgz``.
        members: ``{"content": {"member": ..., "sha256": ...}, "cites": {...}}``;
            a null ``sha256`` skips that check.

    Returns:
        ``{"content": (N, F + 2) table, "citations": (E, 2) table}``, see
        :func:`parse_content` and :func:`parse_cites`.
    """
    with tarfile.open(archive) as tar:
        texts = {}
        for kind in MEMBER_KINDS:
            member, sha256 = members[kind]["member"], members[kind].get("sha256")
            data = _member_bytes(tar, archive, member)
            _check_member_sha256(data, archive, member, sha256)
            texts[kind] = (data.decode("utf-8"), f"{archive}:{member}")
    content = parse_content(*texts["content"])
    citations = parse_cites(*texts["cites"])
    logger.info(
        "Cora: %d papers, %d features, %d citations",
        len(content),
        content.shape[1] - 2,
        len(citations),
    )
    return {"content": content, "citations": citations}


class CoraDataset(RawFileDataset):
    """The Cora citation data: ``{"content": table, "citations": table}`` from ``cora.tgz``.

    The archive is fetched into ``data/01_raw/cora/`` on first use. Raw data is
    read-only: ``save`` refuses.

    Example::

        cora_gcn.cora:
          type: advanced_dl.io.CoraDataset
          members:
            content: {member: cora/cora.content, sha256: b8eb...}
            cites: {member: cora/cora.cites, sha256: ec1a...}
    """

    def __init__(
        self,
        members: dict[str, dict[str, Any]],
        *,
        source: str = "cora",
        relative_path: str = "cora.tgz",
        raw_dir: str = str(DEFAULT_RAW_DIR),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        for kind in MEMBER_KINDS:
            if not isinstance(members.get(kind), dict) or not members[kind].get("member"):
                raise DatasetError(
                    f"CoraDataset: members.{kind}.member must name the file in the archive; "
                    f"got {members.get(kind)!r}"
                )
        super().__init__(source, relative_path, raw_dir=raw_dir, metadata=metadata)
        self._members = members

    def load(self) -> dict[str, pd.DataFrame]:
        return read_cora_archive(self.fetch_local(), self._members)
