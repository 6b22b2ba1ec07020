"""An update's or delete's current row, index rows and transaction id in one statement on
PostgreSQL (issue 24, `store.current_rows.replace_current`): one round trip where three
statements were; the rows stored are those the three statements stored (a hypothesis
property against them, on the plain and the patient-partitioned layout, with several
writes per transaction); a transaction keeps one id for all its writes."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, select, text

from samhandling.fhir.instants import now_us
from samhandling.interactions import crud
from samhandling.store import current_rows, version_writer
from samhandling.store.database import read_connection, write_connection
from samhandling.store.loop_statements import DriverStatement
from samhandling.store.schema import INDEX_TABLES, compartment, outbox, resource, resource_version
from samhandling.store.version_writer import VersionWriter

TABLES = (resource, resource_version, outbox, compartment, *INDEX_TABLES.values())
_NEW_TRANSACTION = DriverStatement(current_rows.NEW_TRANSACTION)
_UPDATE = DriverStatement(current_rows.UPDATE_CURRENT, current_rows.CURRENT_COLUMNS[2:])
_INDEX_DELETE = DriverStatement(current_rows.INDEX_DELETE_IN_ONE)


def _in_three_statements(connection: Connection, row: dict[str, Any], tx_id: int | None) -> int:
    """What `replace_current` replaced: the transaction's id, the UPDATE, the DELETEs."""
    if tx_id is None:
        taken = _NEW_TRANSACTION.run(connection, {"committed_at_us": now_us()})
        assert taken is not None
        tx_id = int(taken[0])
    key = {"key_type": row["resource_type"], "key_id": row["resource_id"]}
    values = {k: v for k, v in row.items() if k not in ("resource_type", "resource_id")}
    _UPDATE.run(connection, {**values, **key, "tx_id": tx_id})
    owner = {"resource_type": row["resource_type"], "resource_id": row["resource_id"]}
    _INDEX_DELETE.run(connection, owner)
    return tx_id


@pytest.fixture
def postgres(engine: Engine) -> Engine:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite keeps a statement per table (in the process: no round trips)")
    return engine


def _observation(rid: str, code: str = "8867-4", patient: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
    }


def _put(writer: VersionWriter, rid: str, code: str = "8867-4", patient: str = "p1") -> None:
    crud.update(writer, "Observation", rid, _observation(rid, code, patient))


def test_an_update_sends_one_statement_for_its_row_index_and_transaction(
    postgres: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with write_connection(postgres) as connection:
        _put(VersionWriter(connection), "o1")
    sent: list[str] = []
    original = psycopg.RawCursor.execute

    def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.RawCursor, "execute", counted)
    with write_connection(postgres) as connection:
        writer = VersionWriter(connection)
        current = writer.current("Observation", "o1")
        sent.clear()  # the write from here, before the commit
        writer.write(
            "Observation", "o1", _observation("o1", "8310-5"), method="update", previous=current
        )
        assert (
            len(sent) == 1 and "transaction_log" in sent[0] and "DELETE FROM index_token" in sent[0]
        )
        again = writer.current("Observation", "o1")
        sent.clear()
        writer.write("Observation", "o1", None, method="delete", previous=again)
        assert len(sent) == 1 and "transaction_log" not in sent[0]  # the transaction has its id
    with read_connection(postgres) as connection:
        tx_ids = connection.execute(
            select(resource_version.c.tx_id).where(resource_version.c.version_id > 1)
        ).scalars()
        codes = connection.execute(text("SELECT count(*) FROM index_token")).scalar_one()
        rows = connection.execute(select(resource.c.tx_id, resource.c.deleted)).all()
    assert len(set(tx_ids)) == 1  # one transaction, one id
    assert codes == 0  # the deletion removed the index rows
    assert [tuple(row)[1] for row in rows] == [True]


def _rows(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every stored row of the written tables but what holds an instant or a sequence's
    number (they differ between two runs), sorted; tx ids as their rank."""
    skip = {"last_updated_us", "created_at_us", "content", "facts", "words", "event_id", "row_id"}
    found: dict[str, list[tuple[str, ...]]] = {}
    with read_connection(engine) as connection:
        ranks = {
            tx: str(rank)
            for rank, tx in enumerate(
                connection.execute(text("SELECT tx_id FROM resource_version ORDER BY tx_id"))
                .scalars()
                .unique()
            )
        }
        for table in TABLES:
            columns = [c for c in table.c if c.name not in skip]
            rows = connection.execute(select(*columns)).mappings().all()
            found[table.name] = sorted(
                tuple(ranks.get(v, "?") if k == "tx_id" else str(v) for k, v in row.items())
                for row in rows
            )
    return found


def _clear(engine: Engine) -> None:
    with write_connection(engine) as connection:
        for table in TABLES:
            connection.execute(table.delete())


Write = tuple[str, int, str, str]  # kind, resource number, code, patient
_WRITES = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(["update", "update", "delete"]),
            st.integers(min_value=0, max_value=2),
            st.sampled_from(["8867-4", "8310-5"]),
            st.sampled_from(["p1", "p2"]),
        ),
        min_size=1,
        max_size=3,
    ),
    min_size=1,
    max_size=4,
)


def _apply(engine: Engine, transactions: list[list[Write]]) -> None:
    for writes in transactions:
        with write_connection(engine) as connection:
            writer = VersionWriter(connection)
            for kind, number, code, patient in writes:
                rid = f"x{number}"
                if kind != "delete":
                    _put(writer, rid, code, patient)
                elif writer.current("Observation", rid) is not None:
                    crud.delete(writer, "Observation", rid)


def _same_rows_either_way(
    engine: Engine, transactions: list[list[Write]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear(engine)
    _apply(engine, transactions)
    in_one = _rows(engine)
    _clear(engine)
    with monkeypatch.context() as patched:
        patched.setattr(current_rows, "replace_current", _in_three_statements)
        _apply(engine, transactions)
    assert _rows(engine) == in_one


def _examples(count: int) -> settings:
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


@_examples(10)
@given(transactions=_WRITES)
def test_one_statement_stores_what_three_stored(
    postgres: Engine, monkeypatch: pytest.MonkeyPatch, transactions: list[list[Write]]
) -> None:
    _same_rows_either_way(postgres, transactions, monkeypatch)


@_examples(5)
@given(transactions=_WRITES)
def test_one_statement_stores_the_same_on_the_partitioned_layout(
    partitioned: Engine, monkeypatch: pytest.MonkeyPatch, transactions: list[list[Write]]
) -> None:
    _same_rows_either_way(partitioned, transactions, monkeypatch)


def test_the_version_writer_replaces_through_current_rows() -> None:
    """The property above patches `current_rows.replace_current`: the writer must call it
    there (not a copy of its own)."""
    assert version_writer.current_rows is current_rows
