"""Reading the pre-trained encoder from the registry: clear errors when there is none to read."""

from __future__ import annotations

import pytest

from advanced_dl.io.encoder import EncoderNotFoundError, RegisteredEncoderDataset


def test_no_encoder_configured_loads_none():
    assert RegisteredEncoderDataset(model_name=None).load() is None


def test_a_missing_encoder_says_how_to_make_one(tracking):
    with pytest.raises(EncoderNotFoundError, match="kedro run --pipelines imdb_pretrain"):
        RegisteredEncoderDataset(model_name="imdb_encoder").load()


def test_a_missing_version_or_alias_is_named(tracking):
    import mlflow

    mlflow.MlflowClient().create_registered_model("imdb_encoder")
    for version in ("7", "@champion"):
        with pytest.raises(EncoderNotFoundError, match=f"no version '{version}'"):
            RegisteredEncoderDataset(model_name="imdb_encoder", version=version).load()
