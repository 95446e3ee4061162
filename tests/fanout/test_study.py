"""Opening a sweep's Optuna storage."""

from __future__ import annotations

import pytest

from advanced_dl.fanout.study import open_storage
from tests.conftest import all_at_once


def test_everyone_opening_a_new_storage_at_once_gets_it(tmp_path):
    # Without the retry, every one of these rounds lost a race on the schema: "table
    # ... already exists" or a second alembic_version insert.
    for round_ in range(3):
        url = f"sqlite:///{tmp_path / f'study-{round_}.db'}"
        _, errors = all_at_once(6, lambda url=url: open_storage(url))
        assert errors == []


def test_a_storage_that_cannot_be_opened_fails_at_once(tmp_path, monkeypatch):
    import sqlalchemy

    from advanced_dl.fanout import study

    waits: list[float] = []
    monkeypatch.setattr(study.time, "sleep", waits.append)
    with pytest.raises(sqlalchemy.exc.OperationalError, match="unable to open database file"):
        open_storage(f"sqlite:///{tmp_path / 'no-such-folder' / 'study.db'}")
    assert waits == []  # not retried: only a lost race on the schema is
