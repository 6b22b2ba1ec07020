"""A database error's text (what a 500 logs) never carries the statement's values."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from samhandling.store.database import make_engine

NATIONAL_ID = "05858540072"


def test_an_error_does_not_show_the_values(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with pytest.raises(DBAPIError) as failed, engine.connect() as connection:
            connection.execute(text("SELECT * FROM no_such_table WHERE x = :x"), {"x": NATIONAL_ID})
        assert NATIONAL_ID not in str(failed.value)
        assert "hidden" in str(failed.value)  # SQLAlchemy says the parameters were hidden
    finally:
        engine.dispose()
