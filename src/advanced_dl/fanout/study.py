"""Where a sweep's Optuna study lives: beside the MLflow runs it belongs to.

Optuna and MLflow both keep their schema version in a table named
``alembic_version``, so the study cannot share MLflow's tables:

- SQLite tracking store ``sqlite:///<dir>/<name>.db``: the study goes to
  ``sqlite:///<dir>/<name>-optuna.db``, beside it;
- a database tracking URI (``postgresql+psycopg://...``): the same database,
  in a schema of its own, ``optuna``;
- a tracking server (``http(s)://``): the database behind it, named by
  ``--storage`` or ``$ADVANCED_DL_SWEEP_STORAGE`` (the server's PostgreSQL URI),
  again in the schema ``optuna``. Several machines pointed at it add trials
  to the same study.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advanced_dl.fanout.space import SearchSpace

STORAGE_VARIABLE = "ADVANCED_DL_SWEEP_STORAGE"
SCHEMA = "optuna"


class StudyStorageError(ValueError):
    """No study storage can be derived from the tracking URI."""


def storage_url(tracking_uri: str, storage: str | None = None) -> str:
    """The Optuna storage URL of the sweep whose runs go to ``tracking_uri``."""
    if storage:
        return storage
    if tracking_uri.startswith("sqlite:///"):
        path = Path(tracking_uri.removeprefix("sqlite:///"))
        suffix = path.suffix or ".db"
        return f"sqlite:///{path.with_name(f'{path.stem}-optuna{suffix}')}"
    if tracking_uri.startswith(("postgresql", "mysql")):
        return tracking_uri
    raise StudyStorageError(
        f"A sweep keeps its Optuna study in a database beside the MLflow runs; the tracking "
        f"URI {tracking_uri!r} is not one. Name the tracking server's database with --storage "
        f"or ${STORAGE_VARIABLE} (e.g. postgresql+psycopg://mlflow@dbhost:5432/mlflow)"
    )


def open_storage(url: str, attempts: int = 5) -> Any:
    """An ``optuna.storages.RDBStorage`` on ``url``; PostgreSQL's in the schema ``optuna``.

    Processes opening a new storage at once (machines joining one sweep, a dashboard
    opened as a sweep starts) race to create its schema: the losers' ``CREATE`` or
    schema-version insert fails. A loser opens it again, up to ``attempts`` times,
    and then finds the schema the winner made. Other errors (an unreachable
    server, a wrong password) are raised at once.
    """
    for attempt in range(1, attempts):
        try:
            return _open_storage_once(url)
        except Exception as error:
            if not _lost_schema_race(error):
                raise
            time.sleep(random.uniform(0.05, 0.2) * attempt)
    return _open_storage_once(url)


def _lost_schema_race(error: Exception) -> bool:
    """Whether ``error`` is another process's schema creation winning over ours: a
    duplicate row or object (``IntegrityError``, PostgreSQL's ``ProgrammingError``)
    or SQLite's "table ... already exists"."""
    import sqlalchemy

    if isinstance(error, sqlalchemy.exc.IntegrityError | sqlalchemy.exc.ProgrammingError):
        return True
    return isinstance(error, sqlalchemy.exc.OperationalError) and "already exists" in str(error)


def _open_storage_once(url: str) -> Any:
    import optuna

    engine_kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        import sqlalchemy

        engine = sqlalchemy.create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(sqlalchemy.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        finally:
            engine.dispose()
        engine_kwargs["connect_args"] = {"options": f"-csearch_path={SCHEMA}"}
    elif url.startswith("sqlite"):
        # Workers and the driver write at once: wait for the lock instead of failing.
        engine_kwargs["connect_args"] = {"timeout": 60}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


def open_study(name: str, storage: Any, space: SearchSpace) -> tuple[Any, bool]:
    """The study ``name`` in ``storage`` and whether this call created it (else it
    existed: a resumed sweep, or another machine's sweep of it that started first)."""
    import optuna

    pruner = median_pruner(space.startup_trials, space.warmup_epochs)
    try:
        study = optuna.create_study(
            study_name=name, storage=storage, direction=space.direction, pruner=pruner
        )
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.load_study(study_name=name, storage=storage, pruner=pruner), False
    return study, True


def median_pruner(startup_trials: int, warmup_epochs: int) -> Any:
    """The sweeps' pruner: a trial stops when its validation value at an epoch falls below
    the median of the finished trials' at that epoch, once ``startup_trials`` trials have
    finished and from epoch ``warmup_epochs`` on. The driver creates the study with it and
    every worker loads the study with it: a study loaded without one gets Optuna's default
    (5 startup trials, no warm-up), not the search space's.
    """
    import optuna

    return optuna.pruners.MedianPruner(
        n_startup_trials=startup_trials, n_warmup_steps=warmup_epochs
    )


def trial_sampler(seed: int, existing_trials: int) -> Any:
    """The sweeps' sampler, TPE, seeded by the sweep's seed and the trials the study has.

    A fresh study (no trials) draws from ``seed`` itself, so a sweep repeats. A
    resumed study, or a second machine joining one, seeds from both numbers: seeded
    with ``seed`` alone, its sampler would restart the random start-up draws and
    propose the first trials' parameters again.
    """
    import numpy as np
    import optuna

    if existing_trials:
        seed = int(np.random.SeedSequence([seed, existing_trials]).generate_state(1)[0])
    return optuna.samplers.TPESampler(seed=seed)
