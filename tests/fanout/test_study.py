"""Opening a sweep's Optuna storage."""

from __future__ import annotations

from advanced_dl.fanout.study import open_storage
from tests.conftest import all_at_once


def test_everyone_opening_a_new_storage_at_once_gets_it(tmp_path):
    # Without the retry, every one of these rounds lost a race on the schema: "table
    # ... already exists" or a second alembic_version insert.
    for round_ in range(3):
        url = f"sqlite:///{tmp_path / f'study-{round_}.db'}"
        _, errors = all_at_once(6, lambda url=url: open_storage(url))
        assert errors == []
