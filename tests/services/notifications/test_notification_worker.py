"""The worker is woken by write transactions committed in its process, not by reads or
rolled-back writes."""

from __future__ import annotations

import pytest

from samhandling.store import notification_queries as queries
from samhandling.store.database import Engine, read_connection, write_connection


def test_a_committed_write_wakes_the_worker(engine: Engine) -> None:
    woken: list[int] = []
    unhook = queries.on_write_commit(engine, lambda saved: woken.append(1))
    try:
        with read_connection(engine) as connection:
            queries.any_active(connection)
        assert woken == []
        with pytest.raises(RuntimeError), write_connection(engine) as connection:
            queries.any_active(connection)
            raise RuntimeError("rolled back")
        assert woken == []
        with write_connection(engine) as connection:
            queries.any_active(connection)
        assert woken == [1]
    finally:
        unhook()
    with write_connection(engine) as connection:
        queries.any_active(connection)
    assert woken == [1]  # unhooked
