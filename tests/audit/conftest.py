"""Fixtures of the SQLite journal's tests: a database file of their own, and the batches
that went to a worker thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from samhandling.audit.storage import chain_writer
from samhandling.store.database import make_engine


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: str) -> Iterator[Engine]:
    """A migrated SQLite file of the test's own (a copy of the session's template)."""
    path = tmp_path / "samhandling.db"
    path.write_bytes(Path(sqlite_template).read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def threaded_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the journal's batches sent to a worker thread (they still run)."""
    sent: list[int] = []
    threaded = chain_writer._sqlite_batch

    def counted(engine: Engine, count: int, *args: Any) -> int:
        sent.append(count)
        return threaded(engine, count, *args)

    monkeypatch.setattr(chain_writer, "_sqlite_batch", counted)
    return sent
