"""A worker's trial: the study it reports to prunes with the search space's settings."""

from __future__ import annotations

import optuna
import pytest

from advanced_dl.fanout.study import median_pruner, open_storage
from advanced_dl.fanout.trials import EpochReport, _pruning_observer


def test_a_worker_prunes_with_the_spaces_startup_and_warm_up_not_optunas_defaults(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(
        study_name="s", storage=open_storage(url), direction="maximize", pruner=median_pruner(5, 3)
    )
    # Five finished trials at 0.9 every epoch: enough for Optuna's default pruner
    # (5 startup trials, no warm-up) to stop a worse trial at its first epoch.
    for _ in range(5):
        finished = study.ask()
        for epoch in range(6):
            finished.report(0.9, epoch)
        study.tell(finished, 0.9)
    trial = study.ask()
    reported: list[float] = []
    observe = _pruning_observer(
        EpochReport(url, "s", trial._trial_id, "val_accuracy", startup_trials=5, warmup_epochs=3),
        reported,
    )
    for epoch in range(3):  # the warm-up: reported, never pruned
        observe(epoch, {"val_accuracy": 0.1})
    observe(3, {"loss": 1.0})  # an epoch without the metric is not reported
    with pytest.raises(optuna.TrialPruned, match="after epoch 4"):
        observe(3, {"val_accuracy": 0.1})
    assert reported == [0.1] * 4
