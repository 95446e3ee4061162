"""Tiny IMDB-like archives the tests build themselves (io, pipeline and serving tests)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np

POSITIVE_WORDS = ["great", "wonderful", "superb", "moving", "brilliant", "loved"]
NEGATIVE_WORDS = ["awful", "boring", "terrible", "dull", "waste", "hated"]
FILLER_WORDS = ["the", "film", "plot", "actor", "scene", "story", "and", "a", "it", "was"]
# imdb_transformer's vectorisation parameters for these tiny reviews.
VECTORISATION = {
    "vocabulary_size": 30,
    "sequence_length": 8,
    "keep": "last",
    "head_tokens": 0,
    "windows": 1,
}


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

    Plus the canonical archive's extras: ``{train,test}/urls_{pos,neg}.txt``
    (reviews 2k and 2k + 1 of a split, positive or negative, are about the
    movie ``tt<1000 or 5000 + k>``, as :func:`synthetic_movie` says), and what
    must be ignored: a README, the vocabulary file and an unlabelled
    ``train/unsup`` review.
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
            members[f"aclImdb/{split}/urls_{sentiment}.txt"] = "".join(
                f"http://www.imdb.com/title/{synthetic_movie(split, i)}/usercomments\n"
                for i in range(per_folder)
            ).encode()
    return members


def synthetic_movie(split: str, review_id: int) -> str:
    """The movie of review ``review_id`` in :func:`synthetic_reviews` (either sentiment)."""
    return f"tt{(1000 if split == 'train' else 5000) + review_id // 2}"
