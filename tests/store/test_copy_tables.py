"""All tables' COPY in one exchange (`store/copy_tables.py`): its payloads are the bytes
psycopg's own `Copy.write_row` sends, the database stores what psycopg's COPY stores, a
refused row fails the exchange as psycopg would, and a batch's rows arrive as queued."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg._copy_base import BinaryFormatter, TextFormatter
from psycopg.adapt import Transformer
from psycopg.pq import Format
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from samhandling.access_guard import OpenAccess
from samhandling.interactions.bundle import process_bundle
from samhandling.store import index_buffer
from samhandling.store.copy_tables import TableRows, copy_tables, payload
from samhandling.store.database import is_sqlite, is_unique_violation, write_connection
from samhandling.store.index_buffer import IndexBuffer
from samhandling.store.schema import INDEX_TABLES, resource

_TYPES = ("text", "int4", "int8", "float8", "bool", "bytea")
_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "text": st.text(),
    "int4": st.integers(-(2**31), 2**31 - 1),
    "int8": st.integers(-(2**63), 2**63 - 1),
    "float8": st.floats(),
    "bool": st.booleans(),
    "bytea": st.binary(),
}
_ROW = st.tuples(*(st.none() | _VALUES[t] for t in _TYPES))
_CREATE = ("CREATE TEMP TABLE {} (a text, b int4, c int8, d float8, e bool, f bytea);"
           "CREATE TEMP TABLE {}_words (n int4, w tsvector)")  # fmt: skip


@pytest.fixture
def driver(engine: Engine) -> Iterator[psycopg.Connection[Any]]:
    if is_sqlite(engine):
        pytest.skip("SQLite's driver takes no COPY")
    with psycopg.connect(engine.url.render_as_string(hide_password=False).replace(
        "postgresql+psycopg", "postgresql"
    )) as connection:  # fmt: skip
        yield connection


def _outcome(build: Callable[[], bytes]) -> tuple[str, Any]:
    try:
        return "ok", bytes(build())
    except Exception as failure:  # the same refusal either way
        return "refused", type(failure)


def _psycopg_s(driver: psycopg.Connection[Any], rows: TableRows) -> bytes:
    """What `Copy.write_row` sends for `rows`: its formatter's output, row by row."""
    transformer = Transformer(driver)
    formatter: BinaryFormatter | TextFormatter
    if rows.types is None:
        formatter = TextFormatter(transformer)
    else:
        oids = [driver.adapters.types.get_oid(t) for t in rows.types]
        transformer.set_dumper_types(oids, Format.BINARY)
        formatter = BinaryFormatter(transformer)
    return b"".join([*(bytes(formatter.write_row(r)) for r in rows.rows), bytes(formatter.end())])


def test_a_payload_is_what_psycopg_s_copy_sends(driver: psycopg.Connection[Any]) -> None:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_ROW, max_size=8), st.lists(st.tuples(st.none() | st.text()), max_size=5))
    def check(rows: list[tuple[Any, ...]], texts: list[tuple[Any, ...]]) -> None:
        binary = TableRows("t", tuple("abcdef"), _TYPES, rows)
        assert _outcome(lambda: payload(driver, binary)) == _outcome(
            lambda: _psycopg_s(driver, binary)
        )
        text = TableRows("t", ("w",), None, texts)
        assert _outcome(lambda: payload(driver, text)) == _outcome(lambda: _psycopg_s(driver, text))

    check()


def _by_psycopg(driver: psycopg.Connection[Any], tables: list[TableRows]) -> None:
    with driver.cursor() as cursor:
        for rows in tables:
            with cursor.copy(rows.statement) as copy:
                if rows.types:
                    copy.set_types(list(rows.types))
                for row in rows.rows:
                    copy.write_row(row)


def _stored(driver: psycopg.Connection[Any], name: str) -> list[tuple[Any, ...]]:
    found = driver.execute(f"SELECT t::text FROM {name} t ORDER BY 1").fetchall()
    words = driver.execute(f"SELECT t::text FROM {name}_words t ORDER BY 1").fetchall()
    return found + words


def _tables(name: str, rows: list[tuple[Any, ...]]) -> list[TableRows]:
    words = [(n, f"word{n} other {n % 3} 'quoted'") for n in range(len(rows))]
    return [
        TableRows(name, tuple("abcdef"), _TYPES, rows),
        TableRows(f"{name}_words", ("n", "w"), None, [*words, (None, None)]),
        TableRows(name, tuple("abcdef"), _TYPES, rows[:3]),  # a table twice
    ]


def test_the_database_stores_what_psycopg_s_copy_stores(
    driver: psycopg.Connection[Any],
) -> None:
    rows = [("tekst\t\n\\ æøå", 1, -(2**40), 0.1, True, b"\x00\xff"), (None,) * 6]
    rows += [(f"r{n}", n, n, n / 7, n % 2 == 0, bytes([n % 256] * n)) for n in range(300)]
    rows += [("big", 0, 0, 0.0, False, b"x" * 3_000_000)]  # beyond the socket's buffer
    driver.execute(_CREATE.format("ours", "ours") + ";" + _CREATE.format("theirs", "theirs"))
    copy_tables(driver, _tables("ours", rows))
    _by_psycopg(driver, _tables("theirs", rows))
    ours, theirs = _stored(driver, "ours"), _stored(driver, "theirs")
    assert len(ours) == len(rows) + 3 + len(rows) + 1
    assert ours == theirs


def test_a_refused_row_fails_the_exchange_and_keeps_the_connection(
    driver: psycopg.Connection[Any],
) -> None:
    driver.execute(_CREATE.format("u", "u") + "; CREATE UNIQUE INDEX ON u (b)")
    driver.commit()
    first = TableRows("u_words", ("n",), ["int4"], [(1,), (2,)])
    twice = TableRows("u", ("b",), ["int4"], [(7,), (7,)])
    after = TableRows("u_words", ("n",), ["int4"], [(3,)])
    with pytest.raises(psycopg.errors.UniqueViolation):
        copy_tables(driver, [first, twice, after])
    driver.rollback()
    assert driver.execute("SELECT count(*) FROM u_words").fetchone() == (0,)
    copy_tables(driver, [first])
    assert driver.execute("SELECT n FROM u_words ORDER BY n").fetchall() == [(1,), (2,)]


def test_a_buffer_s_refused_row_is_an_integrity_error(engine: Engine) -> None:
    token = INDEX_TABLES["token"]
    columns = ("resource_type", "resource_id", "patient_id", "shard_key", "param", "code")
    current = ("resource_type", "resource_id", "patient_id", "shard_key", "version_id",
               "tx_id", "last_updated_us", "deleted", "content")  # fmt: skip
    row = ("Patient", "p1", "p1", "p1", 1, 1, 0, False, b"{}")
    with pytest.raises(IntegrityError) as refused, write_connection(engine) as connection:
        buffer = IndexBuffer.of(connection)
        tokens = [("Patient", "p1", None, "p1", "identifier", f"c{n}") for n in range(300)]
        buffer.add_rows(token, columns, ("Patient", "p1"), tokens)  # over one statement's rows
        buffer.add_rows(resource, current, ("Patient", "p1"), [row, row])
    assert is_unique_violation(refused.value)


def _observation(n: int) -> dict[str, Any]:
    body = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": f"2026-01-01T10:{n % 60:02d}:00Z",
        "valueQuantity": {"value": 60 + n / 10, "unit": "/min",
                          "system": "http://unitsofmeasure.org", "code": "/min"},
    }  # fmt: skip
    return {"resource": body, "request": {"method": "POST", "url": "Observation"}}


def test_a_batch_chunk_s_rows_are_stored_as_queued(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[dict[Any, list[tuple[Any, ...]]]] = []
    insert_all = index_buffer._insert_all

    def noted(connection: Any, pending: dict[Any, list[tuple[Any, ...]]], sent: Any) -> None:
        queued.append({queue: list(rows) for queue, rows in pending.items()})
        insert_all(connection, pending, sent)

    monkeypatch.setattr(index_buffer, "_insert_all", noted)
    patient = {"resource": {"resourceType": "Patient", "id": "p1"},
               "request": {"method": "PUT", "url": "Patient/p1"}}  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "batch",
              "entry": [patient, *(_observation(n) for n in range(40))]}  # fmt: skip
    answer = process_bundle(engine, bundle, "http://x/fhir", guard=OpenAccess(), rules=())
    assert all(e["response"]["status"].startswith("201") for e in answer["entry"])
    chunk = max(queued, key=lambda p: sum(map(len, p.values())))
    assert sum(map(len, chunk.values())) > index_buffer._ONE_STATEMENT_ROWS  # by COPY
    with engine.connect() as connection:
        for (table, columns), rows in chunk.items():
            if table.name == "index_text" and not is_sqlite(engine):
                columns = tuple(c for c in columns if c != "words")  # a tsvector, normalised
                rows = [row[:-1] for row in rows]
            ids = {row[columns.index("resource_id")] for row in rows}
            stored = connection.execute(
                select(*(table.c[c] for c in columns)).where(table.c.resource_id.in_(ids))
            ).all()
            assert sorted(map(tuple, stored), key=repr) == sorted(rows, key=repr), table.name
