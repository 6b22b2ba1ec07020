from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.server_process import ServerProcess


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(database_url, tmp_path / "data").start()
    yield process
    process.stop()


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """`serve --workers 2`: two processes on one socket and one database."""
    process = ServerProcess(database_url, tmp_path / "data", workers=2).start()
    yield process
    process.stop()
