"""A worker's trial: the study it reports to prunes with the search space's settings."""

from __future__ import annotations

import optuna
import pytest

from advanced_dl.fanout.study import median_pruner, open_storage, trial_sampler
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


def test_a_resumed_study_does_not_propose_its_first_trials_again(tmp_path):
    def draws(sampler, study, n):
        study.sampler = sampler
        values = []
        for _ in range(n):
            trial = study.ask()
            values.append(trial.suggest_float("x", 0.0, 1.0))
            study.tell(trial, values[-1])
        return values

    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(study_name="s", storage=storage)
    first = draws(trial_sampler(7, len(study.trials)), study, 2)
    # Resumed: the same seed, two trials already in the study.
    resumed = draws(trial_sampler(7, len(study.trials)), study, 2)
    assert not set(resumed) & set(first)
    # A fresh study with the same seed repeats the sweep.
    again = optuna.create_study(study_name="t", storage=storage)
    assert draws(trial_sampler(7, len(again.trials)), again, 2) == first
