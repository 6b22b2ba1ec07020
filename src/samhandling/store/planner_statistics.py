"""The query planner's statistics refreshed: `ANALYZE` after a bulk load, one table per
transaction (the statistics upkeep of a running server is `store/statistics.py`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, text

from samhandling.store.database import is_sqlite, lift_statement_timeout


def refresh_statistics(engine: Engine) -> None:
    """Let the query planner see the data as it is now (`ANALYZE`), after a bulk load.

    Without statistics PostgreSQL plans the search's index probes for empty tables: on 12,000
    freshly imported resources `Observation?patient&category&date` read 390,000 buffers in
    0.6 s instead of 1,300 in 3 ms. Autovacuum analyses a changed table by itself, but only
    later (and not at all where it is switched off); an import should not leave searches
    slow until then. On SQLite it fills `sqlite_stat1` for its planner likewise.
    """
    if is_sqlite(engine):
        with engine.begin() as connection:
            lift_statement_timeout(connection)
            connection.execute(text("ANALYZE"))
        return
    with engine.connect() as connection:
        tables = connection.execute(_ANALYSED_TABLES).scalars().all()
    analyse_tables(engine, tables)


# The tables of the schema in use as one whole-database ANALYZE would take them: ordinary
# tables and partitioned parents (whose ANALYZE also analyses their partitions), not the
# partitions again, nor the system catalogues (autovacuum's business, not the planner's
# view of our data).
_ANALYSED_TABLES = text(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
    " AND NOT c.relispartition ORDER BY c.relname"
)


def analyse_tables(engine: Engine, tables: Iterable[str]) -> None:
    """`ANALYZE` each of `tables` (names of ours, not input), each in a transaction of its
    own without the statement timeout (a large table takes its time).

    One table per transaction: an `ANALYZE` keeps the table's lock (SHARE UPDATE EXCLUSIVE,
    which conflicts with itself) until its transaction ends, so two transactions analysing
    several tables in different orders — the statistics upkeep of a server and an import's
    `refresh_statistics`, the benchmark's, or another server's upkeep — deadlocked, and
    PostgreSQL aborted one (seen: a benchmark run failed with `DeadlockDetected` on its
    `ANALYZE`). A transaction holding one lock waits but closes no cycle. (`ANALYZE` outside
    a transaction block would do the same, but its statement timeout could only be lifted
    for the session, which a transaction-mode pooler such as PgBouncer would hand on.)"""
    for table in tables:
        with engine.begin() as connection:
            lift_statement_timeout(connection)
            connection.exec_driver_sql(f'ANALYZE "{table}"')
