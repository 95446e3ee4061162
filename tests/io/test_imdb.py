"""The IMDB archive read as one review table (``advanced_dl.io.imdb``)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError

from advanced_dl.io.imdb import ImdbReviewsDataset, ReviewArchiveError, read_review_archive
from tests.synthetic_imdb import synthetic_movie, synthetic_reviews, write_archive


@pytest.fixture
def tiny_archive(tmp_path: Path) -> Path:
    """3 reviews per train/test x pos/neg folder (12 reviews)."""
    return write_archive(tmp_path / "aclImdb_v1.tar.gz", synthetic_reviews(3))


def test_read_reviews_builds_the_table(tiny_archive):
    reviews = read_review_archive(tiny_archive)
    assert list(reviews.columns) == ["text", "label", "split", "rating", "review_id", "movie"]
    assert reviews["movie"].tolist() == [
        synthetic_movie(split, review_id)
        for split, review_id in zip(reviews["split"], reviews["review_id"], strict=True)
    ]
    assert len(reviews) == 12  # README, vocabulary and train/unsup are ignored
    assert reviews.groupby(["split", "label"]).size().tolist() == [3, 3, 3, 3]
    assert reviews["label"].dtype == np.int8
    positive = reviews[reviews["label"] == 1]
    assert positive["rating"].between(7, 10).all()
    assert reviews.loc[reviews["label"] == 0, "rating"].between(1, 4).all()
    assert reviews["text"].str.contains("The end!").all()
    # Deterministic order whatever the archive's order.
    assert reviews.equals(
        reviews.sort_values(["split", "label", "review_id"]).reset_index(drop=True)
    )


def test_reviews_without_a_urls_line_name_no_movie(tmp_path):
    members = {k: v for k, v in synthetic_reviews(2).items() if "urls_neg" not in k}
    members["aclImdb/train/urls_pos.txt"] = b"http://www.imdb.com/title/tt0453418/usercomments\n"
    reviews = read_review_archive(write_archive(tmp_path / "a.tar.gz", members))
    movies = reviews.set_index(["split", "label", "review_id"])["movie"]
    assert movies[("train", 1, 0)] == "tt0453418"
    assert movies[("train", 1, 1)] == ""  # the file has one line
    assert movies[("train", 0, 0)] == movies[("test", 0, 1)] == ""  # no urls_neg.txt
    assert movies[("test", 1, 1)] == synthetic_movie("test", 1)


def test_read_reviews_names_missing_folders(tmp_path):
    members = {k: v for k, v in synthetic_reviews(2).items() if "/test/neg/" not in k}
    archive = write_archive(tmp_path / "broken.tar.gz", members)
    with pytest.raises(ReviewArchiveError, match=r"test/neg.*expected the IMDB layout") as error:
        read_review_archive(archive)
    assert "broken.tar.gz" in str(error.value)


def test_read_reviews_rejects_a_file_that_is_not_an_archive(tmp_path):
    not_an_archive = tmp_path / "aclImdb_v1.tar.gz"
    not_an_archive.write_text("<html>404 Not Found</html>")
    with pytest.raises(ReviewArchiveError, match=r"Could not read .*aclImdb_v1\.tar\.gz"):
        read_review_archive(not_an_archive)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"caf\xe9 terrible \xff", "not valid UTF-8"), (b"  \n ", "empty")],
)
def test_read_reviews_bad_review_error_or_counted_skip(tmp_path, caplog, content, problem):
    members = synthetic_reviews(2)
    members["aclImdb/train/pos/99_10.txt"] = content
    archive = write_archive(tmp_path / "bad.tar.gz", members)
    with pytest.raises(ReviewArchiveError, match=f"train/pos/99_10.txt is {problem}"):
        read_review_archive(archive)

    with caplog.at_level(logging.WARNING):
        reviews = read_review_archive(archive, on_bad_review="skip")
    assert len(reviews) == 8
    assert "Skipped reviews" in caplog.text


def test_dataset_fetches_the_archive_and_reads_it_once_per_load(tiny_archive, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "imdb").mkdir(parents=True)
    shutil.copy(tiny_archive, mirror / "imdb" / "aclImdb_v1.tar.gz")
    raw = tmp_path / "raw"
    dataset = ImdbReviewsDataset(raw_dir=str(raw))
    assert not dataset.exists()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADVANCED_DL_DATA_MIRROR", str(mirror))
        reviews = dataset.load()
    assert dataset.exists() and len(reviews) == 12
    assert (raw / "imdb" / "aclImdb_v1.tar.gz").read_bytes() == tiny_archive.read_bytes()
    with pytest.raises(DatasetError, match="raw data"):
        dataset.save(reviews)


def test_dataset_refuses_an_unknown_bad_review_action():
    with pytest.raises(DatasetError, match=r"on_bad_review must be one of \('error', 'skip'\)"):
        ImdbReviewsDataset(on_bad_review="ignore")


def test_unlabelled_reviews_come_only_when_asked_for(tiny_archive, tmp_path):
    reviews = read_review_archive(tiny_archive, include_unlabelled=True)
    unlabelled = reviews[reviews["split"] == "unsup"]
    assert len(reviews) == 13 and len(unlabelled) == 1  # the archive's one train/unsup review
    assert unlabelled["label"].tolist() == [-1] and unlabelled["rating"].tolist() == [0]
    assert unlabelled["text"].tolist() == ["an unlabelled review"]
    assert set(reviews.loc[reviews["split"] != "unsup", "label"]) == {0, 1}

    members = {k: v for k, v in synthetic_reviews(2).items() if "/unsup/" not in k}
    without = write_archive(tmp_path / "no_unsup.tar.gz", members)
    assert len(read_review_archive(without)) == 8  # the labelled reviews need no unsup folder
    with pytest.raises(ReviewArchiveError, match=r"no reviews under train/unsup.*50,000"):
        read_review_archive(without, include_unlabelled=True)


def test_pretraining_reads_no_test_review(tiny_archive):
    reviews = read_review_archive(tiny_archive, include_unlabelled=True, labelled_splits=("train",))
    assert set(reviews["split"]) == {"train", "unsup"}
    with pytest.raises(DatasetError, match="labelled_splits must be among"):
        ImdbReviewsDataset(labelled_splits=["validation"])
