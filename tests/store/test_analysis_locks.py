"""`ANALYZE` on PostgreSQL keeps no table's lock while it waits for the next table
(`store/planner_statistics.analyse_tables`: a transaction per table): the statistics upkeep of a
server and an import's `refresh_statistics` (or a benchmark's, or another server's upkeep)
taking tables in opposite orders must not deadlock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text

from fixtures.databases import create_postgres_database, drop_postgres_database
from samhandling.store.database import make_engine
from samhandling.store.planner_statistics import refresh_statistics
from samhandling.store.statistics import StatisticsUpkeep

WAIT_SECONDS = 10.0


@pytest.fixture
def two_tables(postgres_database_url: str) -> Iterator[Engine]:
    """A fresh PostgreSQL database with two small tables, `alpha` made before `zeta`;
    its engine with a statement timeout, as a server's."""
    del postgres_database_url  # PostgreSQL is there (or the test fails under CI)
    url = create_postgres_database("samhandling_analysis")
    engine = make_engine(url, statement_timeout_ms=5_000)
    try:
        with engine.begin() as connection:
            for table in ("alpha", "zeta"):
                connection.execute(text(f"CREATE TABLE {table} (n integer)"))
                connection.execute(text(f"INSERT INTO {table} SELECT generate_series(1, 500)"))
        yield engine
    finally:
        engine.dispose()
        drop_postgres_database(url)


def _holding(engine: Engine, table: str) -> psycopg.Connection:
    """Another session inside a transaction that has analysed `table` (and keeps its lock)."""
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    other = psycopg.connect(url)
    other.execute(f"ANALYZE {table}")
    return other


def _waiting_pid(engine: Engine, other_pid: int) -> int:
    """The backend (not `other_pid`) that waits for a lock, once it does."""
    deadline = time.monotonic() + WAIT_SECONDS
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            pid = connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database() AND pid <> :other"
                ),
                {"other": other_pid},
            ).scalar()
            if pid is not None:
                return int(pid)
            time.sleep(0.02)
    raise AssertionError("the analysis never waited for the other session's table")


def _tables_locked_by(engine: Engine, pid: int) -> set[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE l.pid = :pid AND l.granted AND l.mode = 'ShareUpdateExclusiveLock'"
            ),
            {"pid": pid},
        )
        return {name for (name,) in rows}


def _in_thread(action: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    failures: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # handed to the test
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, failures


def _crossing_analyses(engine: Engine, action: Callable[[], object], first: str) -> None:
    """`action` analyses `first` and then `zeta`, which another transaction holds; while it
    waits, that transaction analyses `first` too. Kept locks would make a cycle."""
    other = _holding(engine, "zeta")
    try:
        thread, failures = _in_thread(action)
        waiting = _waiting_pid(engine, other.info.backend_pid)
        assert _tables_locked_by(engine, waiting) == set()  # `first`'s lock let go
        other.execute(f"ANALYZE {first}")  # a cycle, were `first` still locked: deadlock
        other.commit()
        thread.join(WAIT_SECONDS)
        assert not thread.is_alive()
        assert failures == []
    finally:
        other.close()


def test_the_upkeep_keeps_no_table_locked_while_it_waits_for_the_next(
    two_tables: Engine,
) -> None:
    upkeep = StatisticsUpkeep(two_tables)
    _crossing_analyses(two_tables, lambda: upkeep._analyse(["alpha", "zeta"]), "alpha")


def test_refreshing_the_whole_database_keeps_no_table_locked_while_it_waits(
    two_tables: Engine,
) -> None:
    # the schema's tables by name: `alpha` before `zeta`
    _crossing_analyses(two_tables, lambda: refresh_statistics(two_tables), "alpha")


def test_refreshing_analyses_every_table_and_a_partitioned_ones_partitions(
    two_tables: Engine,
) -> None:
    with two_tables.begin() as connection:
        connection.execute(text("CREATE TABLE parted (n integer) PARTITION BY RANGE (n)"))
        for low, high in ((0, 1000), (1000, 2000)):
            partition = f"parted_{low} PARTITION OF parted FOR VALUES FROM ({low}) TO ({high})"
            connection.execute(text(f"CREATE TABLE {partition}"))
        connection.execute(text("INSERT INTO parted SELECT generate_series(0, 1999)"))
    refresh_statistics(two_tables)
    with two_tables.connect() as connection:
        rows = dict(
            connection.execute(
                text(
                    "SELECT relname, reltuples FROM pg_class WHERE relname IN"
                    " ('alpha', 'zeta', 'parted_0', 'parted_1000')"
                )
            ).all()
        )
        whole = connection.execute(
            text("SELECT count(*) FROM pg_stats WHERE tablename = 'parted' AND inherited")
        ).scalar()
    assert rows == {"alpha": 500, "zeta": 500, "parted_0": 1000, "parted_1000": 1000}
    assert whole == 1  # the partitioned table's own statistics, over its partitions


def test_the_connection_goes_back_with_its_statement_timeout(two_tables: Engine) -> None:
    refresh_statistics(two_tables)
    with two_tables.connect() as connection:  # the pool's one connection, used above
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "5s"
