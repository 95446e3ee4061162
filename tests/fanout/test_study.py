"""Opening a sweep's Optuna storage."""

from __future__ import annotations

import threading

from advanced_dl.fanout.study import open_storage


def test_everyone_opening_a_new_storage_at_once_gets_it(tmp_path):
    # Threads stand in for processes (same race, separate connections). Without the
    # retry, every one of these rounds lost a race on the schema: "table
    # ... already exists" or a second alembic_version insert.
    for round_ in range(3):
        url = f"sqlite:///{tmp_path / f'study-{round_}.db'}"
        start = threading.Barrier(6)
        errors: list[BaseException] = []

        def open_it(url=url, start=start, errors=errors):
            start.wait()
            try:
                open_storage(url)
            except Exception as error:  # reported below, whatever it is
                errors.append(error)

        openers = [threading.Thread(target=open_it) for _ in range(6)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join()
        assert errors == []
