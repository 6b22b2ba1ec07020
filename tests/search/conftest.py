"""Fixtures for the search tests (the helpers live in searchkit.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from searchkit import SearchStore
from sqlalchemy import Engine


@pytest.fixture
def store(engine: Engine) -> Iterator[SearchStore]:
    yield SearchStore(engine)
