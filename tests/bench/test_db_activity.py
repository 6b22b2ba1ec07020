"""`bench.db_activity`: the benchmark database's backends sampled by state, on a real
PostgreSQL server; checked by what it sees a backend doing, never by the speed."""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

import psycopg
from sqlalchemy.engine import make_url


def _tool() -> ModuleType:
    return importlib.import_module("bench.db_activity")


def test_states_are_named_by_wait_event_and_statement() -> None:
    counted = _tool().classify(
        [
            ("idle in transaction", None, "SELECT 1"),
            ("active", None, "COPY  resource\n (a, b) FROM STDIN"),
            ("active", "IO:WALSync", "COMMIT"),
            ("active", None, "COPY resource (a, b) FROM STDIN"),
            (None, None, None),
        ]
    )
    assert counted == {
        "idle in transaction": 1,
        "running: COPY resource (a, b) FROM STDIN": 2,
        "IO:WALSync: COMMIT": 1,
        "unknown": 1,
    }


def test_a_sleeping_backend_is_seen_for_as_long_as_it_sleeps(postgres_database_url: str) -> None:
    """One backend of the database sleeps through about half of the sampling: about half a
    backend on average in the `Timeout:PgSleep` state, with its statement."""
    url = postgres_database_url
    database = make_url(url).database
    sampler = _tool().ActivitySampler(url, database, interval_s=0.002).start()

    def sleep() -> None:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("SELECT pg_sleep(0.4)")

    sleeper = threading.Thread(target=sleep)
    sleeper.start()
    sleeper.join()
    threading.Event().wait(0.4)
    result = sampler.stop()
    assert "error" not in result and result["samples"] > 20
    found = {row["state"]: row["backends"] for row in result["states"]}
    slept = found.get("Timeout:PgSleep: SELECT pg_sleep(0.4)")
    assert slept is not None and 0.2 < slept < 0.8, found
    assert "db-activity" not in {t.name for t in threading.enumerate()}  # the thread ended
    assert "database backends by state" in _tool().describe(result)
