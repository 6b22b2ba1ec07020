"""Where a routed read runs, on a REAL streaming replica (`store/read_routing.py`, issue 26).

A private primary + replica pair (tests/fixtures/replica_pair.py). Which database served a
read is told by a row that exists on one and not (yet) on the other: replay is paused on
the replica, then the row is written on the primary.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from fixtures.replica_pair import ReplicaPair, replica_marks, replica_pair
from fixtures.server_process import free_port
from samhandling.fhir.outcome import FhirError
from samhandling.store.database import make_engine, primary_of, write_connection
from samhandling.store.read_routing import ReadRouting, parse_position

pytestmark = replica_marks()


@pytest.fixture(scope="module")
def pair() -> Iterator[ReplicaPair]:
    with replica_pair() as made:
        made.sql(made.primary_url, "CREATE TABLE marker (name text PRIMARY KEY)")
        yield made


@pytest.fixture
def engines(pair: ReplicaPair) -> Iterator[tuple[Engine, Engine]]:
    primary, replica = make_engine(pair.primary_url), make_engine(pair.replica_url)
    pair.resume_replay()
    with write_connection(primary) as connection:
        connection.execute(text("DELETE FROM marker"))
    pair.caught_up()
    yield primary, replica
    pair.resume_replay()
    primary.dispose()
    replica.dispose()


def _write_marker(primary: Engine, name: str) -> str:
    """Write a marker row on the primary; the commit position after it."""
    with write_connection(primary) as connection:
        connection.execute(text("INSERT INTO marker VALUES (:n)"), {"n": name})
    with primary.connect() as connection:
        return str(connection.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar())


def _markers(connection: Connection) -> set[str]:
    return set(connection.execute(text("SELECT name FROM marker")).scalars())


def test_a_read_with_the_writers_position_sees_the_write_while_replay_is_paused(
    pair: ReplicaPair, engines: tuple[Engine, Engine]
) -> None:
    primary, replica = engines
    routing = ReadRouting(primary, replica, max_lag_seconds=3600)
    pair.pause_replay()
    position = _write_marker(primary, "after-pause")

    assert "after-pause" not in routing.read(_markers, None)  # no position: the replica
    assert routing.served == {"replica": 1, "primary": 0}
    assert "after-pause" in routing.read(_markers, position)  # the position: the primary
    assert routing.served == {"replica": 1, "primary": 1}

    pair.resume_replay()
    pair.wait_replayed(position)
    assert "after-pause" in routing.read(_markers, position)  # replayed: the replica again
    assert routing.served == {"replica": 2, "primary": 1}


def test_without_a_position_the_staleness_bound_decides(
    pair: ReplicaPair, engines: tuple[Engine, Engine]
) -> None:
    primary, replica = engines
    strict = ReadRouting(primary, replica, max_lag_seconds=0)
    pair.pause_replay()
    assert strict.read(_markers, None) == set()  # paused but nothing missed: current
    assert strict.served == {"replica": 1, "primary": 0}

    pair.wait_received(_write_marker(primary, "missed"))
    assert strict.read(_markers, None) == {"missed"}  # behind: the primary answers
    assert strict.served == {"replica": 1, "primary": 1}


def test_the_commit_position_is_the_primarys_and_only_with_a_replica(
    pair: ReplicaPair, engines: tuple[Engine, Engine]
) -> None:
    primary, replica = engines
    before = _write_marker(primary, "first")
    position = ReadRouting(primary, replica, max_lag_seconds=1).commit_position()
    assert position is not None
    assert pair.sql(pair.primary_url, f"SELECT '{position}'::pg_lsn >= '{before}'::pg_lsn")
    assert ReadRouting(primary, None, max_lag_seconds=1).commit_position() is None


def test_a_search_on_the_replica_keeps_its_paging_cache_on_the_primary(
    engines: tuple[Engine, Engine],
) -> None:
    primary, replica = engines
    ReadRouting(primary, replica, max_lag_seconds=1)
    with replica.connect() as connection:
        assert primary_of(connection) is primary
    with primary.connect() as connection:
        assert primary_of(connection) is None


def test_a_read_that_writes_on_the_replica_is_run_again_on_the_primary(
    engines: tuple[Engine, Engine],
) -> None:
    primary, replica = engines
    routing = ReadRouting(primary, replica, max_lag_seconds=3600)

    def writes(connection: Connection) -> set[str]:
        connection.execute(text("INSERT INTO marker VALUES ('written-by-a-read')"))
        return _markers(connection)

    assert routing.read(writes, None) == {"written-by-a-read"}  # read-only there: 25006
    assert routing.served == {"replica": 0, "primary": 1}


def test_an_unreachable_replica_leaves_the_reads_to_the_primary(
    engines: tuple[Engine, Engine],
) -> None:
    primary, _replica = engines
    gone = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/x?connect_timeout=2")
    routing = ReadRouting(primary, gone, max_lag_seconds=3600)
    assert routing.read(_markers, None) == set()
    assert routing.served == {"replica": 0, "primary": 1}
    gone.dispose()


def test_a_database_not_in_recovery_is_not_used_as_a_replica(
    engines: tuple[Engine, Engine],
) -> None:
    primary, _replica = engines
    other = make_engine(primary.url.render_as_string(hide_password=False))
    routing = ReadRouting(primary, other, max_lag_seconds=3600)  # e.g. a promoted replica
    routing.read(_markers, None)
    assert routing.served == {"replica": 0, "primary": 1}
    other.dispose()


@pytest.mark.parametrize("token", ["0/0", "16/B374D848", "ff/1"])
def test_a_commit_position_is_an_lsn(token: str) -> None:
    assert parse_position(f" {token} ") == token.upper()
    assert parse_position(None) is None
    assert parse_position("") is None


@pytest.mark.parametrize("token", ["1", "0/0'; SELECT 1", "123456789/0", "g/1", "0/0/0"])
def test_a_malformed_commit_position_is_a_400(token: str) -> None:
    with pytest.raises(FhirError) as refused:
        parse_position(token)
    assert refused.value.status == 400
