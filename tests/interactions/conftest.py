"""Fixtures of the interactions' tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from fixtures import queued_rows


@pytest.fixture
def single_row_inserts(engine: Engine) -> Iterator[list[str]]:
    """The INSERTs of one `resource` row each that the engine runs during the test."""
    with queued_rows.single_row_inserts(engine) as seen:
        yield seen
