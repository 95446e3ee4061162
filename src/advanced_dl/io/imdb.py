"""The IMDB Large Movie Review archive (``aclImdb_v1.tar.gz``) read as one review table.

Reviews are streamed from the archive without extracting it. Table columns:
``text`` (str), ``label`` (int8, 1 = positive, 0 = negative), ``split``
(``"train"``/``"test"``), ``rating`` (int8, 1-10, from the file name) and
``review_id`` (int32, from the file name) and ``movie`` (str: the IMDB title,
e.g. ``"tt0453418"``, from the split's ``urls_pos.txt`` / ``urls_neg.txt``, whose
line i names review i's movie; ``""`` where the archive has no such line). With
``include_unlabelled``, the 50,000 unlabelled reviews of ``train/unsup`` come
too, as split ``"unsup"``, label -1, rating 0 and movie ``""`` (for
pre-training; they carry no test information).
"""

from __future__ import annotations

import logging
import re
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.io import DatasetError

from advanced_dl.data.acquisition import DEFAULT_RAW_DIR
from advanced_dl.features.text import LABELS
from advanced_dl.io.remote import RawFileDataset

logger = logging.getLogger(__name__)

SPLITS = ("train", "test")
UNLABELLED_SPLIT = "unsup"
SENTIMENTS = {"neg": 0, "pos": 1, UNLABELLED_SPLIT: -1}
BAD_REVIEW_ACTIONS = ("error", "skip")
# <top>/<split>/<sentiment>/<id>_<rating>.txt, and <top>/train/unsup/<id>_0.txt.
_REVIEW_MEMBER = re.compile(r"^(?:[^/]+/)?(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
_UNLABELLED_MEMBER = re.compile(r"^(?:[^/]+/)?(train)/(unsup)/(\d+)_(\d+)\.txt$")
# <top>/<split>/urls_<sentiment>.txt: line i is the URL of review i's movie.
_URLS_MEMBER = re.compile(r"^(?:[^/]+/)?(train|test)/urls_(pos|neg)\.txt$")
_TITLE = re.compile(r"/title/(tt\d+)")


class ReviewArchiveError(ValueError):
    """The IMDB archive does not have the expected layout or content."""


def _wanted_member(
    member: tarfile.TarInfo, include_unlabelled: bool, labelled_splits: tuple[str, ...]
) -> tuple[str, ...] | None:
    """(split, sentiment, id, rating) of a review file to read, else None: other
    files, and reviews of splits not asked for, are never read."""
    match = _REVIEW_MEMBER.match(member.name)
    if match is None and include_unlabelled:
        match = _UNLABELLED_MEMBER.match(member.name)
    if not member.isfile() or match is None:
        return None
    split, sentiment = match.group(1), match.group(2)
    if sentiment != UNLABELLED_SPLIT and split not in labelled_splits:
        return None
    return match.groups()


def read_review_archive(
    archive: Path,
    on_bad_review: str = "error",
    include_unlabelled: bool = False,
    labelled_splits: tuple[str, ...] = SPLITS,
) -> pd.DataFrame:
    """Stream the IMDB archive into one table of reviews, without extracting it.

    Reads ``<top>/{train,test}/{pos,neg}/<id>_<rating>.txt`` members (UTF-8),
    and with ``include_unlabelled`` the ``<top>/train/unsup/<id>_0.txt`` ones;
    anything else (README, vocabulary) is ignored. The content is validated
    instead of the archive checksum, since mirrors repack the archive.

    Args:
        archive: local path of ``aclImdb_v1.tar.gz`` (any tar compression works).
        on_bad_review: ``"error"`` (default) raises on a review that is not
            valid UTF-8 or has no words, naming the file; ``"skip"`` leaves
            such reviews out and logs how many.

    Returns:
        (n_reviews, 6) table ``text, label, split, rating, review_id, movie``,
        sorted by split, label and id (25,000 train + 25,000 test for the full
        archive).

        labelled_splits: which labelled splits are read (pre-training reads
            ``("train",)``: the test reviews' files are skipped unread).

    Raises:
        ReviewArchiveError: unreadable archive, a missing ``train/test`` x
            ``pos/neg`` folder (or ``train/unsup`` when asked for), a bad file
            name, or a bad review under "error".
    """
    if on_bad_review not in BAD_REVIEW_ACTIONS:
        raise ValueError(
            f"on_bad_review must be one of {BAD_REVIEW_ACTIONS}; got {on_bad_review!r}"
        )
    if not set(labelled_splits) <= set(SPLITS):
        raise ValueError(f"labelled_splits must be among {SPLITS}; got {labelled_splits!r}")
    start = time.perf_counter()
    texts: list[str] = []
    labels: list[int] = []
    splits: list[str] = []
    ratings: list[int] = []
    ids: list[int] = []
    skipped: dict[str, int] = {"invalid UTF-8": 0, "empty": 0}
    movie_lists: dict[tuple[str, int], list[str]] = {}
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for member in tar:
                wanted = _wanted_member(member, include_unlabelled, labelled_splits)
                if wanted is None:
                    _read_movies(tar, member, labelled_splits, movie_lists)
                    continue
                split, sentiment, review_id, rating = wanted
                raw = tar.extractfile(member).read()
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    if on_bad_review == "error":
                        raise ReviewArchiveError(
                            f"{archive}: review {member.name} is not valid UTF-8 ({error}); "
                            "set on_bad_review: skip on the reviews dataset "
                            "(conf/base/catalog_imdb_transformer.yml) to leave such reviews out"
                        ) from error
                    skipped["invalid UTF-8"] += 1
                    continue
                if not text.strip():
                    if on_bad_review == "error":
                        raise ReviewArchiveError(
                            f"{archive}: review {member.name} is empty; set "
                            "on_bad_review: skip on the reviews dataset "
                            "(conf/base/catalog_imdb_transformer.yml) to leave such reviews out"
                        )
                    skipped["empty"] += 1
                    continue
                texts.append(text)
                labels.append(SENTIMENTS[sentiment])
                splits.append(UNLABELLED_SPLIT if sentiment == UNLABELLED_SPLIT else split)
                ratings.append(int(rating))
                ids.append(int(review_id))
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ReviewArchiveError(
            f"Could not read {archive} as a tar archive ({type(error).__name__}: {error})"
        ) from error

    reviews = pd.DataFrame(
        {
            "text": pd.Series(texts, dtype="str"),
            "label": np.asarray(labels, dtype=np.int8),
            "split": pd.Series(splits, dtype="str"),
            "rating": np.asarray(ratings, dtype=np.int8),
            "review_id": np.asarray(ids, dtype=np.int32),
            "movie": pd.Series(
                [
                    _listed(movie_lists.get((split, label), ()), review_id)
                    for split, label, review_id in zip(splits, labels, ids, strict=True)
                ],
                dtype="str",
            ),
        }
    )
    del texts
    counts = reviews.groupby(["split", "label"]).size()
    missing = [
        f"{split}/{sentiment}"
        for split in labelled_splits
        for sentiment, label in SENTIMENTS.items()
        if label >= 0 and counts.get((split, label), 0) == 0
    ]
    if include_unlabelled and counts.get((UNLABELLED_SPLIT, -1), 0) == 0:
        raise ReviewArchiveError(
            f"{archive} has no reviews under train/unsup; pre-training reads the 50,000 "
            "unlabelled reviews of the canonical aclImdb_v1.tar.gz (<top>/train/unsup/"
            "<id>_0.txt): fetch that archive (or a mirror of it) into data/01_raw/imdb/"
        )
    if missing:
        raise ReviewArchiveError(
            f"{archive} has no reviews under {missing}; expected the IMDB layout "
            "<top>/{train,test}/{pos,neg}/<id>_<rating>.txt (aclImdb_v1.tar.gz)"
        )
    if any(skipped.values()):
        logger.warning("Skipped reviews in %s: %s", archive, skipped)
    reviews = reviews.sort_values(["split", "label", "review_id"], kind="stable")
    logger.info(
        "Read %d reviews (%s) from %s in %.1f s",
        len(reviews),
        ", ".join(
            f"{s}/{LABELS[label] if label >= 0 else 'unlabelled'}: {n}"
            for (s, label), n in counts.items()
        ),
        archive,
        time.perf_counter() - start,
    )
    return reviews.reset_index(drop=True)


def _read_movies(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    labelled_splits: tuple[str, ...],
    movie_lists: dict[tuple[str, int], list[str]],
) -> None:
    """If ``member`` is a wanted split's ``urls_<sentiment>.txt``, its movies go to
    ``movie_lists[(split, label)]``, line i for review i; other members are left unread."""
    urls = _URLS_MEMBER.match(member.name)
    if urls is None or not member.isfile() or urls.group(1) not in labelled_splits:
        return
    lines = tar.extractfile(member).read().decode("utf-8", "replace").splitlines()
    movie_lists[(urls.group(1), SENTIMENTS[urls.group(2)])] = [_movie(line) for line in lines]


def _movie(url: str) -> str:
    """The IMDB title id in a review's URL (``tt0453418``), else the URL itself."""
    title = _TITLE.search(url)
    return title.group(1) if title else url.strip()


def _listed(movies: list[str] | tuple[()], review_id: int) -> str:
    return movies[review_id] if review_id < len(movies) else ""


class ImdbReviewsDataset(RawFileDataset):
    """Every labelled IMDB review as one table (see the module docstring), and with
    ``include_unlabelled`` the unlabelled ``train/unsup`` ones too.

    The archive is fetched into ``data/01_raw/imdb/`` on first use. Raw data
    is read-only: ``save`` refuses.

    Example::

        imdb_transformer.reviews:
          type: advanced_dl.io.ImdbReviewsDataset
          on_bad_review: error
    """

    def __init__(
        self,
        *,
        on_bad_review: str = "error",
        include_unlabelled: bool = False,
        labelled_splits: list[str] | tuple[str, ...] = SPLITS,
        source: str = "imdb",
        relative_path: str = "aclImdb_v1.tar.gz",
        raw_dir: str = str(DEFAULT_RAW_DIR),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if on_bad_review not in BAD_REVIEW_ACTIONS:
            raise DatasetError(
                f"ImdbReviewsDataset: on_bad_review must be one of {BAD_REVIEW_ACTIONS}; "
                f"got {on_bad_review!r}"
            )
        super().__init__(source, relative_path, raw_dir=raw_dir, metadata=metadata)
        if not set(labelled_splits) <= set(SPLITS):
            raise DatasetError(
                f"ImdbReviewsDataset: labelled_splits must be among {SPLITS}; "
                f"got {labelled_splits!r}"
            )
        self._on_bad_review = on_bad_review
        self._include_unlabelled = bool(include_unlabelled)
        self._labelled_splits = tuple(labelled_splits)

    def load(self) -> pd.DataFrame:
        return read_review_archive(
            self.fetch_local(), self._on_bad_review, self._include_unlabelled, self._labelled_splits
        )

    def _describe(self) -> dict[str, Any]:
        return {
            **super()._describe(),
            "on_bad_review": self._on_bad_review,
            "include_unlabelled": self._include_unlabelled,
            "labelled_splits": list(self._labelled_splits),
        }
