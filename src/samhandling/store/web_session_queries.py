"""Named queries of the web views' sessions (`web_session`): put, get, touch, take, remove,
purge. Rows are opaque to the store: a key (a hash), a kind, sealed bytes and three times.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from samhandling.store.database import is_sqlite
from samhandling.store.service_tables import web_session


@dataclass(frozen=True)
class SessionRow:
    """One stored session or login under way."""

    sealed: bytes
    created_us: int
    last_used_us: int
    expires_us: int


def put(connection: Connection, key: str, kind: str, sealed: bytes, row: SessionRow) -> None:
    """Store (or replace) the row of `key`: one upsert, so two nodes saving the same
    session at once do not collide."""
    dialect = sqlite if is_sqlite(connection) else postgresql
    values = {
        "kind": kind,
        "sealed": sealed,
        "created_us": row.created_us,
        "last_used_us": row.last_used_us,
        "expires_us": row.expires_us,
    }
    statement = dialect.insert(web_session).values(key=key, **values)
    connection.execute(
        statement.on_conflict_do_update(index_elements=[web_session.c.key], set_=values)
    )


def get(connection: Connection, key: str, kind: str) -> SessionRow | None:
    """The row of `key` of this kind, or None."""
    found = connection.execute(
        select(
            web_session.c.sealed,
            web_session.c.created_us,
            web_session.c.last_used_us,
            web_session.c.expires_us,
        ).where(web_session.c.key == key, web_session.c.kind == kind)
    ).first()
    return SessionRow(bytes(found[0]), found[1], found[2], found[3]) if found else None


def touch(connection: Connection, key: str, last_used_us: int) -> None:
    """Record a use of the row (its idle clock restarts)."""
    connection.execute(
        update(web_session).where(web_session.c.key == key).values(last_used_us=last_used_us)
    )


def take(connection: Connection, key: str, kind: str) -> SessionRow | None:
    """Delete the row of `key` and return it: of two nodes taking it, one gets it."""
    statement = (
        delete(web_session)
        .where(web_session.c.key == key, web_session.c.kind == kind)
        .returning(
            web_session.c.sealed,
            web_session.c.created_us,
            web_session.c.last_used_us,
            web_session.c.expires_us,
        )
    )
    found = connection.execute(statement).first()
    return SessionRow(bytes(found[0]), found[1], found[2], found[3]) if found else None


def remove(connection: Connection, key: str) -> None:
    """Delete the row of `key` (logging out)."""
    connection.execute(delete(web_session).where(web_session.c.key == key))


def purge(connection: Connection, now_us: int, idle_before_us: int) -> int:
    """Delete rows past their end or unused since `idle_before_us`; how many."""
    statement = delete(web_session).where(
        or_(web_session.c.expires_us <= now_us, web_session.c.last_used_us < idle_before_us)
    )
    return int(connection.execute(statement).rowcount)
