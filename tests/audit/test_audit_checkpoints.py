"""Checkpoints of the chain head: records removed from the end, or a rebuilt tail, are
detected; checkpoints before the archive boundary are left to the archives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select

from fixtures.audit_records import read_record
from samhandling.audit.archive import archive
from samhandling.audit.chain import Checkpoint, verify
from samhandling.audit.checkpoints import append_to, read, take
from samhandling.audit.storage.tables import audit_event, audit_patient
from samhandling.audit.trail import append
from samhandling.store.database import write_connection


def _append(engine: Engine, numbers: range) -> None:
    with write_connection(engine) as connection:
        append(connection, [read_record(i) for i in numbers])


def _remove_from(engine: Engine, position: int) -> None:
    """What someone with write access to the database would do to hide the newest reads."""
    with write_connection(engine) as connection:
        gone = select(audit_event.c.event_id).where(audit_event.c.chain_pos >= position)
        connection.execute(delete(audit_patient).where(audit_patient.c.event_id.in_(gone)))
        connection.execute(delete(audit_event).where(audit_event.c.chain_pos >= position))


def _checkpoint(engine: Engine) -> Checkpoint:
    checkpoint = take(engine)
    assert checkpoint is not None
    return checkpoint


def test_removed_newest_records_are_detected_only_with_a_checkpoint(engine: Engine) -> None:
    _append(engine, range(12))
    checkpoint = _checkpoint(engine)
    assert checkpoint.chain_pos == 12 and checkpoint.taken_at
    _remove_from(engine, 10)
    assert verify(engine).ok  # a shorter chain is intact: what checkpoints are for
    report = verify(engine, checkpoints=[checkpoint])
    assert not report.ok and report.broken_at == 10
    assert "ends at position 9" in (report.reason or "") and "removed" in (report.reason or "")


def test_a_rebuilt_tail_is_detected(engine: Engine) -> None:
    _append(engine, range(8))
    early = _checkpoint(engine)
    _append(engine, range(8, 12))
    late = _checkpoint(engine)
    _remove_from(engine, 10)
    _append(engine, range(100, 104))  # new records in the removed ones' places
    assert verify(engine).ok
    report = verify(engine, checkpoints=[early, late])
    assert not report.ok and report.broken_at == 12 and "rewritten" in (report.reason or "")


def test_an_intact_chain_passes_its_checkpoints(engine: Engine) -> None:
    empty = take(engine)
    assert empty is None
    checkpoints = []
    for start in (0, 5, 9):
        _append(engine, range(start, start + 4))
        checkpoints.append(_checkpoint(engine))
    report = verify(engine, checkpoints=checkpoints)
    assert report.ok and report.checked == 12 and report.checkpoints == 3


def test_checkpoints_before_the_archive_boundary(engine: Engine, tmp_path: Path) -> None:
    with write_connection(engine) as connection:
        append(connection, [read_record(i, at_us=1_000_000 + i) for i in range(6)])
    at_boundary = _checkpoint(engine)
    with write_connection(engine) as connection:
        append(connection, [read_record(i, at_us=9_000_000_000_000_000 + i) for i in range(6, 9)])
    result = archive(engine, before_us=2_000_000, directory=tmp_path)
    assert result.count == 6
    archived = Checkpoint(3, "0" * 64)  # in the archive: verify_archive checks those
    report = verify(engine, checkpoints=[archived, at_boundary])
    assert report.ok and report.checkpoints == 1
    forged = Checkpoint(6, "f" * 64, "2026-12-01T00:00:00Z")
    report = verify(engine, checkpoints=[forged])
    assert not report.ok and report.broken_at == 6 and "rewritten" in (report.reason or "")


def test_checkpoint_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.ndjson"
    first, second = Checkpoint(3, "a" * 64, "2026-12-03T10:00:00Z"), Checkpoint(9, "b" * 64)
    append_to(path, first)
    append_to(path, second)
    assert read(path) == [first, second]
    path.write_text('{"chain_pos": 1}\n')
    with pytest.raises(ValueError, match=":1 is not a checkpoint"):
        read(path)


def test_cli_checkpoint_and_verify(engine: Engine, database_url: str, tmp_path: Path) -> None:
    _append(engine, range(10))
    path = tmp_path / "checkpoints.ndjson"
    taken = _cli("audit", "checkpoint", "--to", str(path), "--database", database_url)
    assert taken.returncode == 0 and "checkpoint at chain position 10" in taken.stdout
    passed = _cli("audit", "verify", "--checkpoints", str(path), "--database", database_url)
    assert passed.returncode == 0 and "1 checkpoints passed" in passed.stdout
    _remove_from(engine, 8)
    broken = _cli("audit", "verify", "--checkpoints", str(path), "--database", database_url)
    assert broken.returncode == 1 and "BROKEN at chain position 8" in broken.stdout
    path.write_text("not json\n")
    unreadable = _cli("audit", "verify", "--checkpoints", str(path), "--database", database_url)
    assert unreadable.returncode == 2 and "cannot read the checkpoints" in unreadable.stderr


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "samhandling.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)
