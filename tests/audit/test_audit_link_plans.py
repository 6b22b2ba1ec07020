"""The database's link of the rows write transactions left waiting plans its UPDATE for its
values at each call (PostgreSQL, migration 0030): a generic plan made while audit_event was
young would read the whole table for every batch as it grew."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from fixtures.audit_records import read_record
from samhandling.audit.chain import verify
from samhandling.audit.trail import append, append_at_commit
from samhandling.store.database import make_engine


def test_the_link_update_is_planned_at_each_call(emptied_postgres: Callable[[], str]) -> None:
    engine = make_engine(emptied_postgres())
    try:
        with engine.connect() as connection:
            for batch in range(8):  # PL/pgSQL may switch to a generic plan after 5 calls
                with connection.begin():  # a write transaction's rows, left waiting
                    for i in range(3):
                        append_at_commit(connection, read_record(10 * batch + i))
                with connection.begin():  # a chained batch: links them, then its own row
                    append(connection, [read_record(10 * batch + 9)])
            settings = connection.execute(
                text(
                    "SELECT proconfig FROM pg_proc WHERE proname = 'samhandling_audit_link_waiting'"
                )
            ).scalar_one()
        assert settings == ["plan_cache_mode=force_custom_plan"]
        report = verify(engine)
        assert report.ok and report.checked == 32 and report.unsealed == 0
    finally:
        engine.dispose()
