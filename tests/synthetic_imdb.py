"""Tiny IMDB-like archives the tests build themselves (io, pipeline and serving tests)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np

POSITIVE_WORDS = ["great", "wonderful", "superb", "moving", "brilliant", "loved"]
NEGATIVE_WORDS = ["awful", "boring", "terrible", "dull", "waste", "hated"]
FILLER_WORDS = ["the", "film", "plot", "actor", "scene", "story", "and", "a", "it", "was"]


def write_archive(path: Path, members: dict[str, bytes]) -> Path:
    """A .tar.gz at ``path`` holding ``members`` (name -> bytes)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


def synthetic_reviews(per_folder: int, seed: int = 0) -> dict[str, bytes]:
    """``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` members with sentiment words.

    Plus the canonical archive's extras that must be ignored: a README, the
    vocabulary file and an unlabelled ``train/unsup`` review.
    """
    rng = np.random.default_rng(seed)
    members = {
        "aclImdb/README": b"Large Movie Review Dataset (test copy)",
        "aclImdb/imdb.vocab": b"the\nand\n",
        "aclImdb/train/unsup/0_0.txt": b"an unlabelled review",
    }
    for split in ("train", "test"):
        for sentiment, words, ratings in (
            ("pos", POSITIVE_WORDS, (7, 8, 9, 10)),
            ("neg", NEGATIVE_WORDS, (1, 2, 3, 4)),
        ):
            for review_id in range(per_folder):
                length = int(rng.integers(5, 40))
                tokens = rng.choice(FILLER_WORDS, size=length).tolist()
                for position in rng.choice(length, size=3, replace=False):
                    tokens[position] = str(rng.choice(words))
                text = " ".join(tokens).capitalize() + ".<br /><br />" + "The end!"
                rating = int(rng.choice(ratings))
                members[f"aclImdb/{split}/{sentiment}/{review_id}_{rating}.txt"] = text.encode()
    return members
