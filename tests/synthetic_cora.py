"""A tiny hand-made Cora: six papers, their citations, and the archive that holds them."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

# Six papers, three features, two subjects; file order matters for the masks.
CONTENT_ROWS = [
    ("p1", [1, 0, 0], "Theory"),
    ("p2", [0, 1, 0], "Neural_Networks"),
    ("p3", [1, 1, 0], "Theory"),
    ("p4", [0, 0, 1], "Neural_Networks"),
    ("p5", [1, 0, 1], "Theory"),
    ("p6", [0, 1, 1], "Neural_Networks"),
]
# cited <TAB> citing; p1-p2 is cited both ways, p3 cites itself, "ghost" is unknown.
CITES_ROWS = [
    ("p1", "p2"),
    ("p2", "p1"),
    ("p2", "p3"),
    ("p3", "p3"),
    ("p4", "p5"),
    ("p6", "p5"),
    ("ghost", "p1"),
]
EDGES = {(0, 1), (1, 2), (3, 4), (4, 5)}


def content_text(rows=CONTENT_ROWS) -> str:
    return "".join(
        "\t".join([pid, *map(str, feats), subject]) + "\n" for pid, feats, subject in rows
    )


def cites_text(rows=CITES_ROWS) -> str:
    return "".join(f"{a}\t{b}\n" for a, b in rows)


def make_archive(path: Path, content: str, cites: str) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in (("cora/cora.content", content), ("cora/cora.cites", cites)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def members(content: str | None = None, cites: str | None = None) -> dict:
    digest = lambda text: hashlib.sha256(text.encode()).hexdigest() if text else None  # noqa: E731
    return {
        "content": {"member": "cora/cora.content", "sha256": digest(content)},
        "cites": {"member": "cora/cora.cites", "sha256": digest(cites)},
    }
