"""`kedro run --pipelines imdb_pretrain` killed and run again, then fine-tuning from its encoder."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import KedroInBackground, latest_run, run_kedro

# A tiny encoder on a few hundred real reviews, in many short epochs (a checkpoint each).
PRETRAIN = ",".join(
    [
        "imdb_pretrain.data.max_reviews=320",
        "imdb_pretrain.data.held_out_reviews=32",
        "imdb_pretrain.vectorisation.vocabulary_size=500",
        "imdb_pretrain.vectorisation.sequence_length=32",
        "imdb_pretrain.vectorisation.head_tokens=8",
        "imdb_pretrain.model.embedding_dim=16",
        "imdb_pretrain.model.num_layers=1",
        "imdb_pretrain.model.feed_forward_dim=16",
        "imdb_pretrain.model.key_dim=8",
        "imdb_pretrain.training.passes=6",
        "imdb_pretrain.training.checkpoints_per_pass=2",
        "imdb_pretrain.training.warmup_steps=2",
    ]
)
# Fine-tuning reads text as that encoder does.
FINE_TUNE = ",".join(
    [
        "imdb_transformer.data.max_reviews_per_split=100",
        "imdb_transformer.vectorisation.vocabulary_size=500",
        "imdb_transformer.vectorisation.sequence_length=32",
        "imdb_transformer.vectorisation.head_tokens=8",
        "imdb_transformer.training.epochs=1",
        "imdb_transformer.model.bigram_buckets=1009",  # a small pair table, through the same code
        "imdb_transformer.baseline.enabled=false",
    ]
)
CHECKPOINTS = Path("data/06_models/imdb_pretrain/checkpoints")


@pytest.mark.slow
def test_killed_pretraining_resumes_and_fine_tuning_starts_from_its_encoder(kedro_project, mirror):
    pretraining = KedroInBackground(
        kedro_project, "run", "--pipelines", "imdb_pretrain", "--params", PRETRAIN
    )
    killed = pretraining.process
    try:
        deadline = time.monotonic() + 240
        while not list((kedro_project / CHECKPOINTS).glob("*/latest.json")):
            assert killed.poll() is None, pretraining.ended_early(
                "pre-training ended before its first checkpoint"
            )
            assert time.monotonic() < deadline, pretraining.ended_early("no checkpoint written")
            time.sleep(0.05)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)

    resumed = run_kedro(kedro_project, "run", "--pipelines", "imdb_pretrain", "--params", PRETRAIN)
    assert (
        "Resuming pre-training from its checkpoint after epoch" in resumed.stdout + resumed.stderr
    )
    client, run = latest_run(kedro_project, "imdb_pretrain")
    assert run.info.status == "FINISHED"
    assert run.data.metrics["resumed_from_epoch"] >= 1
    assert run.data.metrics["epochs_trained"] == 12
    history = client.get_metric_history(run.info.run_id, "val_loss")
    assert len(history) == 12  # the epochs before the kill are in the curve too
    assert str(client.get_model_version_by_alias("imdb_encoder", "champion").version) == "1"
    assert list(
        (kedro_project / "data/06_models/imdb_pretrain/encoder.keras").glob("*/encoder.keras")
    )

    run_kedro(
        kedro_project,
        "run",
        "--pipelines",
        "imdb_transformer",
        "--env",
        "pretrained",
        "--params",
        FINE_TUNE,
    )
    client, run = latest_run(kedro_project, "imdb_transformer")
    assert run.info.status == "FINISHED"
    assert run.data.metrics["pretrained_encoder_version"] == 1
    assert run.data.params["imdb_transformer.encoder.use"] == "pretrained"
    import mlflow

    served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    scored = served.predict(pd.DataFrame({"review": ["A wonderful film.", "Dull and long."]}))
    assert scored["probability_positive"].between(0, 1).all()
