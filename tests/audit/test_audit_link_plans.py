"""The link UPDATE of the rows write transactions left waiting is planned for its values at
each execution, never prepared (PostgreSQL): a generic plan made while audit_event was young
read the whole table for every batch as it grew (`audit/storage/sql.psycopg_prepare`)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from fixtures.audit_records import read_record
from samhandling.audit.chain import verify
from samhandling.audit.trail import append, append_at_commit
from samhandling.store.database import make_engine


def test_the_link_update_is_never_prepared(emptied_postgres: Callable[[], str]) -> None:
    engine = make_engine(emptied_postgres())
    try:
        with engine.connect() as connection:
            for batch in range(8):  # psycopg prepares a statement it has seen 5 times
                with connection.begin():  # a write transaction's rows, left waiting
                    for i in range(3):
                        append_at_commit(connection, read_record(10 * batch + i))
                with connection.begin():  # a chained batch: links them, then its own row
                    append(connection, [read_record(10 * batch + 9)])
            prepared = connection.execute(
                text("SELECT statement FROM pg_prepared_statements")
            ).scalars()
            statements = [s.split(" (")[0] for s in prepared]
        assert any(s.startswith("WITH events AS") for s in statements), statements  # inserts
        assert not [s for s in statements if s.startswith("UPDATE audit_event")]
        report = verify(engine)
        assert report.ok and report.checked == 32 and report.unsealed == 0
    finally:
        engine.dispose()
