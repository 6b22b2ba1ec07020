"""`refresh_statistics` gives the planner statistics of the data as loaded (an import
runs it), so searches right after a bulk load do not plan for empty tables."""

from __future__ import annotations

from sqlalchemy import Engine, text

from samhandling.interactions import crud
from samhandling.store.database import is_sqlite, refresh_statistics, write_connection
from samhandling.store.version_writer import VersionWriter


def _analysed(engine: Engine) -> bool:
    with engine.connect() as connection:
        if is_sqlite(connection):
            found = connection.execute(
                text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            ).scalar()
            if not found:
                return False
            rows = text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'index_token'")
            return bool(connection.execute(rows).scalar())
        # the table, or its partitions on the patient-partitioned layout (store/layout.py)
        stats = text(
            "SELECT sum(reltuples) FROM pg_class WHERE relkind = 'r' AND (relname = 'index_token'"
            " OR oid IN (SELECT inhrelid FROM pg_inherits"
            " WHERE inhparent = 'index_token'::regclass))"
        )
        # the session's database is reused: the count must be this test's rows
        return float(connection.execute(stats).scalar() or -1) >= 30


def test_statistics_describe_the_loaded_data(engine: Engine) -> None:
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        for n in range(30):
            observation = {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": f"{n}-0"}]},
            }
            crud.create(writer, observation)
    if is_sqlite(engine):
        assert not _analysed(engine)  # a fresh file
    refresh_statistics(engine)
    assert _analysed(engine)


def test_the_token_statistics_are_small_enough_to_plan_quickly(engine: Engine) -> None:
    """Migration 0022: 1,000 most common (type, param, code) values, not 5,000 (a list
    that full cost 20-33 ms of planning per search)."""
    if is_sqlite(engine):
        return  # no extended statistics on SQLite
    with engine.connect() as connection:
        targets = dict(
            connection.execute(
                text(
                    "SELECT stxname, stxstattarget FROM pg_statistic_ext"
                    " WHERE stxname LIKE 'st_index_%'"
                )
            ).all()
        )
    assert targets["st_index_token_key"] == 1000
    assert targets["st_index_reference_key"] == 5000  # small lists keep their size
