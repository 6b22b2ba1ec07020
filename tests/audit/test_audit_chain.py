"""The trail is tamper-evident: altering, deleting or reordering a record is detected."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, insert, select, update

from fixtures.audit_records import read_record
from samhandling.audit import trail
from samhandling.audit.archive import archive, verify_archive
from samhandling.audit.chain import GENESIS, seal_pending, verify
from samhandling.audit.storage.tables import audit_anchor, audit_event, audit_patient
from samhandling.audit.storage.writes import append_unlinked
from samhandling.audit.trail import append, append_at_commit, event_row
from samhandling.store.database import write_connection


def filled(engine: Engine, count: int = 12) -> None:
    with write_connection(engine) as connection:
        append(connection, [read_record(i) for i in range(count)])
    assert seal_pending(engine) == 0  # chained as they were inserted


def test_intact_chain_verifies(engine: Engine) -> None:
    filled(engine)
    report = verify(engine)
    assert report.ok and report.checked == 12 and report.unsealed == 0


def test_altered_content_is_detected(engine: Engine) -> None:
    filled(engine)
    with write_connection(engine) as connection:
        row = (
            connection.execute(select(audit_event).where(audit_event.c.chain_pos == 5))
            .mappings()
            .one()
        )
        altered = row["content"].replace(b"9100001", b"9100002")
        connection.execute(
            update(audit_event).where(audit_event.c.chain_pos == 5).values(content=altered)
        )
    report = verify(engine)
    assert not report.ok and report.broken_at == 5 and "altered" in (report.reason or "")


def test_altered_search_column_or_patient_is_detected(engine: Engine) -> None:
    filled(engine)
    with write_connection(engine) as connection:
        connection.execute(
            update(audit_event).where(audit_event.c.chain_pos == 3).values(agent_hpr="1")
        )
    assert verify(engine).broken_at == 3
    with write_connection(engine) as connection:
        connection.execute(
            update(audit_event).where(audit_event.c.chain_pos == 3).values(agent_hpr="9100001")
        )
        event_id = connection.execute(
            select(audit_event.c.event_id).where(audit_event.c.chain_pos == 7)
        ).scalar_one()
        connection.execute(delete(audit_patient).where(audit_patient.c.event_id == event_id))
    assert verify(engine).broken_at == 7


def test_deleted_record_is_detected(engine: Engine) -> None:
    filled(engine)
    with write_connection(engine) as connection:
        connection.execute(delete(audit_event).where(audit_event.c.chain_pos == 8))
    report = verify(engine)
    assert not report.ok and report.broken_at == 8 and "deleted" in (report.reason or "")


def test_reordered_records_are_detected(engine: Engine) -> None:
    filled(engine)
    with write_connection(engine) as connection:
        rows = {
            r["chain_pos"]: r
            for r in connection.execute(
                select(audit_event).where(audit_event.c.chain_pos.in_([4, 5]))
            ).mappings()
        }
        for position in (4, 5):
            connection.execute(
                update(audit_event)
                .where(audit_event.c.event_id == rows[position]["event_id"])
                .values(chain_pos=-position)
            )
        for position, other in ((4, 5), (5, 4)):
            source = rows[other]
            connection.execute(
                update(audit_event)
                .where(audit_event.c.chain_pos == -position)
                .values(chain_pos=other, prev_hash=source["prev_hash"], hash=source["hash"])
            )
    report = verify(engine)
    assert not report.ok and report.broken_at == 4


def test_records_appended_later_continue_the_chain(engine: Engine) -> None:
    filled(engine, 5)
    with write_connection(engine) as connection:
        append(connection, [read_record(100), read_record(101)])
    report = verify(engine)
    assert report.ok and report.checked == 7 and report.unsealed == 0


def test_rows_waiting_for_their_link_are_linked_by_the_next_batch(engine: Engine) -> None:
    filled(engine, 3)
    with write_connection(engine) as connection:
        for i in (200, 201):  # as versions before 0.2 appended them, or a crashed write path
            connection.execute(
                insert(audit_event).values(event_id=1000 + i, **event_row(read_record(i)))
            )
    assert verify(engine).unsealed == 2
    assert seal_pending(engine) == 2
    report = verify(engine)
    assert report.ok and report.checked == 5 and report.unsealed == 0


def test_a_large_batch_is_chained_whole(engine: Engine) -> None:
    """A transaction Bundle's records: more rows than one INSERT takes."""
    records = [read_record(i) for i in range(250)]
    for r in records[::2]:
        r.patients |= {"q1", "q2"}
    with write_connection(engine) as connection:
        append(connection, records)
    report = verify(engine)
    assert report.ok and report.checked == 250
    with engine.connect() as connection:
        patients = connection.execute(select(func.count()).select_from(audit_patient))
        assert patients.scalar_one() == 250 + 2 * 125


@pytest.mark.parametrize("opener", ["write_connection", "engine.begin"])
def test_write_transaction_inserts_its_records_at_commit(engine: Engine, opener: str) -> None:
    """Without their link and without the chain lock; the next chained batch links them."""

    def transaction() -> Any:
        return write_connection(engine) if opener == "write_connection" else engine.begin()

    with transaction() as connection:
        append_at_commit(connection, read_record(1))
        append_at_commit(connection, read_record(2))
        in_transaction = connection.execute(select(func.count()).select_from(audit_event))
        assert in_transaction.scalar_one() == 0  # not yet: inserted as the write commits
    with pytest.raises(RuntimeError), transaction() as connection:
        append_at_commit(connection, read_record(3))
        raise RuntimeError("the write fails: its record goes with it")
    assert verify(engine).unsealed == 2
    with write_connection(engine) as connection:
        append(connection, [read_record(4)])  # links the two waiting rows, then its own
    report = verify(engine)
    assert report.ok and report.checked == 3 and report.unsealed == 0


def test_the_waiting_rows_and_their_ids_are_the_write_transactions_own(engine: Engine) -> None:
    """The rows a write inserts at its commit (on SQLite their ids read from the largest
    stored) go and stay with its transaction: rolled back with it."""
    with write_connection(engine) as connection:
        append_at_commit(connection, read_record(1))
    with pytest.raises(RuntimeError), write_connection(engine) as connection:
        append_unlinked(connection, 2, lambda ids: trail._rows([read_record(2)] * 2, ids))
        stored = connection.execute(select(func.count()).select_from(audit_event))
        assert stored.scalar_one() == 3  # inside the transaction: seen by it
        raise RuntimeError("the write fails after its rows were inserted")
    with write_connection(engine) as connection:
        assert connection.execute(select(func.count()).select_from(audit_event)).scalar() == 1
        append_unlinked(connection, 1, lambda ids: trail._rows([read_record(3)], ids))
    assert verify(engine).unsealed == 2


def test_concurrent_appenders_extend_one_chain(engine: Engine) -> None:
    """Journals of several processes and write transactions append at the same time."""

    def writer(worker: int) -> int:
        for i in range(15):
            with write_connection(engine) as connection:
                append_at_commit(connection, read_record(worker * 100 + i))
                if i % 3 == 0:
                    append(connection, [read_record(worker * 100 + 50 + i)])
        return 20

    with ThreadPoolExecutor(6) as pool:
        total = sum(pool.map(writer, range(6)))
    seal_pending(engine)  # the last write transactions' rows
    report = verify(engine)
    assert report.ok and report.checked == total and report.unsealed == 0


def test_archive_boundary_keeps_verification(engine: Engine, tmp_path: Path) -> None:
    with write_connection(engine) as connection:
        append(connection, [read_record(i, at_us=1_000_000 + i) for i in range(6)])
        append(connection, [read_record(i, at_us=9_000_000_000_000_000 + i) for i in range(6, 10)])
    result = archive(engine, before_us=2_000_000, directory=tmp_path)
    assert result.count == 6 and result.path is not None and result.path.exists()
    report = verify(engine)
    assert report.ok and report.checked == 4
    ok, last_hash, problem = verify_archive(result.path, GENESIS)
    assert ok and problem is None
    with engine.connect() as connection:
        anchor = connection.execute(select(audit_anchor)).mappings().one()
    assert anchor["hash"] == last_hash and anchor["chain_pos"] == 6
    with write_connection(engine) as connection:
        connection.execute(
            update(audit_event).where(audit_event.c.chain_pos == 7).values(prev_hash="f" * 64)
        )
    assert verify(engine).broken_at == 7


def test_tampered_archive_is_detected(engine: Engine, tmp_path: Path) -> None:
    import gzip

    with write_connection(engine) as connection:
        append(connection, [read_record(i, at_us=1_000_000 + i) for i in range(4)])
    result = archive(engine, before_us=2_000_000, directory=tmp_path)
    assert result.path is not None
    text = gzip.decompress(result.path.read_bytes()).replace(
        b'"http_status":200', b'"http_status":201', 1
    )
    result.path.write_bytes(gzip.compress(text))
    ok, _hash, problem = verify_archive(result.path, GENESIS)
    assert not ok and "altered" in (problem or "")


@pytest.mark.parametrize("tamper", [False, True])
def test_cli_verify_reports_first_broken_link(
    engine: Engine, database_url: str, tamper: bool
) -> None:
    filled(engine)
    if tamper:
        with write_connection(engine) as connection:
            connection.execute(
                update(audit_event).where(audit_event.c.chain_pos == 9).values(outcome="8")
            )
    result = subprocess.run(
        [sys.executable, "-m", "samhandling.cli", "audit", "verify", "--database", database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if tamper:
        assert result.returncode == 1 and "BROKEN at chain position 9" in result.stdout
    else:
        assert result.returncode == 0 and "12 records verified" in result.stdout
