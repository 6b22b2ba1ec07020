"""The rows write transactions leave waiting are linked by the database on PostgreSQL
(`samhandling_audit_link_waiting`, migration 0030) to the very hashes `audit/chain.py`
gives them: the canonical row printed in SQL is the bytes orjson prints, for any text a
request can carry — quotes, backslashes, control characters, characters beyond the BMP —
and patients sorted by code point, not by the database's collation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select, text, update

from samhandling.audit.chain import GENESIS, row_hash, seal_pending, verify
from samhandling.audit.records import AuditRecord
from samhandling.audit.storage.tables import audit_event, audit_patient
from samhandling.audit.trail import append, append_at_commit
from samhandling.store.database import make_engine, write_connection

# what a column can hold: any character but a surrogate, and no NUL (PostgreSQL's text has none)
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def _text(size: int) -> st.SearchStrategy[str]:
    return st.text(_chars, max_size=size)


_rows = st.fixed_dictionaries(
    {
        "recorded_at_us": st.integers(0, 2**62),
        "interaction": _text(60),
        "action": st.sampled_from("CRUDE"),
        "outcome": st.sampled_from(["0", "4", "8", "12"]),
        "http_status": st.integers(100, 599),
        "agent_kind": st.none() | _text(20),
        "agent_hpr": st.none() | _text(20),
        "agent_org": st.none() | _text(20),
        "purpose_of_use": st.none() | _text(20),
        "emergency": st.booleans(),
        "content": st.binary(max_size=300),
    }
)
_patients = st.lists(st.text(_chars, min_size=1, max_size=12), max_size=4, unique=True)


@pytest.fixture
def pg_engine(emptied_postgres: Callable[[], str]) -> Iterator[Engine]:
    engine = make_engine(emptied_postgres())
    yield engine
    engine.dispose()


def _insert_waiting(engine: Engine, rows: list[tuple[dict[str, Any], list[str]]]) -> list[int]:
    """Insert rows without their link, as a write transaction does; their ids."""
    ids = []
    with write_connection(engine) as connection:
        for row, patients in rows:
            event_id = connection.execute(insert(audit_event).values(**row)).inserted_primary_key
            ids.append(int(event_id[0]))
            for patient in patients:
                connection.execute(
                    insert(audit_patient).values(event_id=event_id[0], patient_id=patient)
                )
    return ids


def _stored(engine: Engine, event_id: int) -> dict[str, Any]:
    with engine.connect() as connection:
        return dict(
            connection.execute(select(audit_event).where(audit_event.c.event_id == event_id))
            .mappings()
            .one()
        )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(_rows, _patients), min_size=1, max_size=3))
def test_the_database_links_any_row_to_the_hash_python_gives_it(
    pg_engine: Engine, rows: list[tuple[dict[str, Any], list[str]]]
) -> None:
    ids = _insert_waiting(pg_engine, rows)
    assert seal_pending(pg_engine) == len(rows)
    for event_id, (_, patients) in zip(ids, rows, strict=True):
        stored = _stored(pg_engine, event_id)
        expected = row_hash(stored["prev_hash"], stored["chain_pos"], stored, patients)
        assert stored["hash"] == expected
    assert verify(pg_engine).ok


def test_escapes_and_the_patients_order_are_orjsons_and_pythons(pg_engine: Engine) -> None:
    row = {
        "recorded_at_us": 1_700_000_000_000_001,
        "interaction": 'søk "quoted" \\ back\x01\x1f\b\f\n\r\t\x7f\u2028 😀',
        "action": "R",
        "outcome": "0",
        "http_status": 200,
        "agent_kind": "clinician",
        "agent_hpr": None,
        "agent_org": "991000011",
        "purpose_of_use": "TREAT",
        "emergency": True,
        "content": b'{"resourceType":"AuditEvent"}',
    }
    # code-point order (B < a < z < å < 😀), not a linguistic collation's (a, å, B, …)
    patients = ["å", "a", "B", "z", "😀"]
    (event_id,) = _insert_waiting(pg_engine, [(row, patients)])
    assert seal_pending(pg_engine) == 1
    stored = _stored(pg_engine, event_id)
    assert stored["chain_pos"] == 1 and stored["prev_hash"] == GENESIS
    assert stored["hash"] == row_hash(GENESIS, 1, row | {"event_id": event_id}, patients)


def _write_record(i: int) -> AuditRecord:
    return AuditRecord(
        interaction="create",
        http_status=201,
        recorded_at_us=1_700_000_200_000_000 + i,
        agent={"kind": "system", "organisation": "991000011"},
        entities=[("Observation", f"k{i}", "1")],
        patients={f"p{i % 2}", "p9"} if i % 3 else set(),
    )


def test_waiting_rows_go_first_then_the_batch_after_the_head_they_left(
    pg_engine: Engine,
) -> None:
    with write_connection(pg_engine) as connection:  # a chunk's records: one multi-row insert
        for i in range(5):
            append_at_commit(connection, _write_record(i))
    with write_connection(pg_engine) as connection:  # a single write's
        append_at_commit(connection, _write_record(5))
    with write_connection(pg_engine) as connection:  # a chained batch of its own
        append(connection, [_write_record(6)])
    with pg_engine.connect() as connection:
        order = connection.execute(
            select(audit_event.c.event_id, audit_event.c.chain_pos).order_by(
                audit_event.c.chain_pos
            )
        ).all()
    assert [pos for _, pos in order] == [1, 2, 3, 4, 5, 6, 7]
    assert [event_id for event_id, _ in order] == sorted(event_id for event_id, _ in order)
    report = verify(pg_engine)
    assert report.ok and report.checked == 7 and report.unsealed == 0


def test_a_batch_links_at_most_its_limit_and_says_how_many(pg_engine: Engine) -> None:
    _insert_waiting(pg_engine, [(_plain_row(i), []) for i in range(5)])
    with write_connection(pg_engine) as connection:
        found = connection.execute(text("SELECT * FROM samhandling_audit_link_waiting(1, 3)")).one()
    assert (found.linked, found.head_pos) == (3, 3)
    with write_connection(pg_engine) as connection:
        found = connection.execute(
            text("SELECT * FROM samhandling_audit_link_waiting(1, 10)")
        ).one()
    assert (found.linked, found.head_pos) == (2, 5)
    assert verify(pg_engine).ok


def test_an_empty_chain_has_no_head(pg_engine: Engine) -> None:
    with write_connection(pg_engine) as connection:
        found = connection.execute(
            text("SELECT * FROM samhandling_audit_link_waiting(1, 10)")
        ).one()
    assert tuple(found) == (0, None, None)


def test_a_row_altered_before_its_link_is_linked_as_stored(pg_engine: Engine) -> None:
    """The database hashes the row it holds when the link is made: a change in the moment
    before (at most the journal's link delay) is linked; any change after it breaks the
    chain (docs/SECURITY.md)."""
    _insert_waiting(pg_engine, [(_plain_row(i), ["p1"]) for i in range(3)])
    with write_connection(pg_engine) as connection:
        connection.execute(update(audit_event).values(agent_org="991000099"))
    assert seal_pending(pg_engine) == 3
    assert verify(pg_engine).ok
    with write_connection(pg_engine) as connection:
        connection.execute(update(audit_event).values(content=b'{"altered": true}'))
    report = verify(pg_engine)
    assert not report.ok and report.broken_at == 1


def _plain_row(i: int) -> dict[str, Any]:
    return {
        "recorded_at_us": 1_700_000_300_000_000 + i,
        "interaction": "read",
        "action": "R",
        "outcome": "0",
        "http_status": 200,
        "agent_kind": "system",
        "agent_hpr": None,
        "agent_org": "991000011",
        "purpose_of_use": "TREAT",
        "emergency": False,
        "content": b"{}",
    }
