"""`refresh_statistics` gives the planner statistics of the data as loaded (an import
runs it), so searches right after a bulk load do not plan for empty tables."""

from __future__ import annotations

import time
from itertools import count

import pytest
from alembic import command
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from samhandling.interactions import crud
from samhandling.store.database import is_sqlite, write_connection
from samhandling.store.planner_statistics import refresh_statistics
from samhandling.store.schema_migrations import alembic_config, upgrade
from samhandling.store.statistics import (
    StatisticsUpkeep,
    Thresholds,
    keep_fresh,
    pause_after,
    row_estimates,
)
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


INDEX_STATISTICS = {
    f"st_index_{kind}_key" for kind in ("token", "string", "date", "reference", "quantity")
} | {"st_index_number_key", "st_index_uri_key"}


def _statistics_kinds(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        return dict(
            connection.execute(
                text(
                    "SELECT stxname, CAST(stxkind AS text) FROM pg_statistic_ext"
                    " WHERE stxname LIKE 'st_index_%'"
                )
            ).all()
        )


def _token_statistics(engine: Engine) -> tuple[bool, bool]:
    """(whether the token key's MCV list is filled, whether it has dependencies)."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT bool_or(most_common_vals IS NOT NULL), bool_or(dependencies IS NOT NULL)"
                " FROM pg_stats_ext WHERE statistics_name = 'st_index_token_key'"
            )
        ).one()
    return bool(row[0]), bool(row[1])


def test_the_index_statistics_are_mcv_lists_without_dependencies(engine: Engine) -> None:
    """Migration 0029: the dependencies were computed at every ANALYZE (most of its time)
    and never used, the MCV list estimating every clause they could."""
    if is_sqlite(engine):
        return  # no extended statistics on SQLite
    assert _statistics_kinds(engine) == dict.fromkeys(INDEX_STATISTICS, "{m}")


def test_the_migration_fills_the_lists_it_makes_again(engine: Engine) -> None:
    """Down to 0028 (both kinds) and up again on a table holding rows: the MCV list is
    there at once, analysed by the migration, and no dependencies are."""
    if is_sqlite(engine):
        return
    _create_observations(engine, 30)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0028")
    try:
        assert set(_statistics_kinds(engine).values()) == {"{f,m}"}
        assert _token_statistics(engine) == (True, True)
    finally:
        upgrade(engine)
    assert set(_statistics_kinds(engine).values()) == {"{m}"}
    assert _token_statistics(engine) == (True, False)


def _create_observations(engine: Engine, count: int) -> None:
    """`count` Observations through the ordinary write path, one transaction each."""
    for n in range(count):
        with write_connection(engine) as connection:
            observation = {
                "resourceType": "Observation",
                "status": "final",
                "category": [{"coding": [{"code": "vital-signs"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": f"{n}-0"}]},
            }
            crud.create(VersionWriter(connection), observation)


def test_writes_through_the_api_path_refresh_the_statistics_past_a_threshold(
    engine: Engine,
) -> None:
    """A database filled through the write path (not an import) gets statistics once enough
    rows were written: the counting is per table, the refresh is `refresh_due`."""
    upkeep = keep_fresh(engine, Thresholds(min_rows=60, growth=0.5))
    _create_observations(engine, 10)  # 30 token rows (status, category, code)
    assert "index_token" not in upkeep.due()
    assert upkeep.refresh_due() == []
    _create_observations(engine, 30)  # 120 in all: past 60
    assert "index_token" in upkeep.due()
    assert "index_token" in upkeep.refresh_due()
    assert _analysed(engine)
    assert upkeep.due() == []  # counted again from zero
    with engine.connect() as connection:
        known = row_estimates(connection, ["index_token"])["index_token"]
    assert known is not None and known >= 120
    # next time: half the rows it holds (more than min_rows by now)
    upkeep.note_written("index_token", int(0.5 * known) - 1)
    assert "index_token" not in upkeep.due()
    upkeep.note_written("index_token", 1)
    assert "index_token" in upkeep.due()


def test_the_refresh_runs_in_the_upkeep_thread_not_in_the_writer(engine: Engine) -> None:
    upkeep = StatisticsUpkeep(engine, Thresholds(min_rows=60, growth=0.5), pause_seconds=0)
    upkeep.start()
    try:
        assert upkeep.wait_for_cycles(1, timeout=30)  # its pass over never-analysed tables
        upkeep.note_written("audit_event", 10_000)  # not a searched table: never analysed
        upkeep.note_written("index_token", 59)
        assert upkeep.due() == []
        _create_observations(engine, 30)  # the writes of others: not counted by this upkeep
        upkeep.note_written("index_token", 1)  # the writer only counts and wakes the thread
        assert upkeep.wait_for_cycles(2, timeout=30)
        assert upkeep.last_refreshed == ["index_token"]
    finally:
        upkeep.stop()
    assert _analysed(engine)


def test_the_pause_after_a_pass_bounds_the_share_of_time_analysing() -> None:
    assert pause_after(0.1, 10.0) == 10.0  # a short pass: the usual pause
    assert pause_after(2.2, 10.0) == pytest.approx(2.2 * 19)  # at most 5% of the time
    assert pause_after(2.2, 10.0, share=0.5) == 10.0
    assert pause_after(0.0, 0.0) == 0.0


def test_a_long_pass_is_followed_by_a_longer_pause(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread times its passes (a clock of the test's: each reading 3 s later) and
    waits 19 times as long as a pass took, when that is longer than its pause. (Its
    passes analyse nothing here: the session's database keeps its statistics.)"""
    readings = count(0.0, 3.0)
    upkeep = StatisticsUpkeep(
        engine, Thresholds(min_rows=1, growth=0.0), clock=lambda: next(readings)
    )
    monkeypatch.setattr(upkeep, "refresh_never_analysed", list)
    monkeypatch.setattr(upkeep, "refresh_due", lambda: ["index_token"])
    upkeep.start()
    try:
        assert upkeep.wait_for_cycles(1, timeout=30)
        upkeep.note_written("index_token", 1)
        assert upkeep.wait_for_cycles(2, timeout=30)
        deadline = time.monotonic() + 10
        while upkeep.last_pause is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert upkeep.last_pause == pytest.approx(3.0 * 19)
    finally:
        upkeep.stop()  # ends the pause at once


def test_the_upkeep_analyses_tables_left_without_statistics(never_analysed: Engine) -> None:
    """A database loaded by an earlier process, never analysed: analysed at the start."""
    engine = never_analysed
    _create_observations(engine, 30)  # no upkeep counts these
    upkeep = StatisticsUpkeep(engine)
    analysed = upkeep.refresh_never_analysed()
    assert "index_token" in analysed and "resource" in analysed
    with engine.connect() as connection:
        estimates = row_estimates(connection, ["resource", "index_token"])
    assert None not in estimates.values()
    assert _analysed(engine)
    assert upkeep.refresh_never_analysed() == []  # now they have statistics


def test_the_server_counts_what_its_write_path_writes(client: TestClient) -> None:
    """The app keeps an upkeep for its engine, and a transaction POSTed to it is counted
    (the thread itself runs in the app's lifespan, as the client fixture's)."""
    upkeep = keep_fresh(client.app.state.engine)  # type: ignore[attr-defined]
    before = upkeep.pending("index_token"), upkeep.pending("resource")
    entries = [
        {
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": f"{n}-0"}]},
            },
            "request": {"method": "POST", "url": "Observation"},
        }
        for n in range(5)
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    assert client.post("/fhir", json=bundle).status_code == 200
    assert upkeep.pending("index_token") >= before[0] + 10  # status and code of each
    assert upkeep.pending("resource") == before[1] + 5  # one version each
