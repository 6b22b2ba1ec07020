"""Keyset paging for searches ordered by id (the default order, ``_sort=_id``, ``-_id``).

A page is "the next ``_count`` matches after id X" (``_after=X``) or "before id X"
(``_before=X``): one indexed query of ``_count + 1`` rows, whatever the number of matches,
instead of reading every match to store the list (``paging.py``). The id never changes, so
a resource that matches when the first page is read and when a later page is read appears
exactly once: nothing is repeated and nothing that still matches is skipped, however the
resources change in between. A resource that stops matching in between is not shown (it is
not a match any more); one created in between appears if its id sorts after the cursor.
``total`` comes from a separate count; with a ``hidden`` restriction when it is known from
the page itself (every match seen), when there are at most ``paging.TOTAL_THRESHOLD``
matches, or when ``_total=accurate`` asks for the full check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, func

from samhandling.search.model import SearchQuery
from samhandling.search.sql import SearchSql
from samhandling.search.visibility import visible_versions
from samhandling.store.records import StoredVersion

Key = tuple[str, str]
MIN_BATCH = 20


@dataclass
class KeysetPage:
    keys: list[Key]
    total: int | None
    has_next: bool
    has_previous: bool
    checked: dict[Key, StoredVersion] = field(default_factory=dict)


def keyset_eligible(query: SearchQuery) -> bool:
    """Ordered by id alone, in a single-type search, without an offset or a stored list."""
    by_id = not query.sort or (len(query.sort) == 1 and query.sort[0].type == "id")
    single = len(query.types) == 1 and bool(query.types[0])
    return by_id and single and query.cursor is None and query.offset == 0


def keyset_page(connection: Connection, builder: SearchSql, query: SearchQuery) -> KeysetPage:
    backwards = query.before is not None and query.after is None
    start = query.before if backwards else query.after
    if start is None and builder.restriction.hidden is None and query.total != "none":
        return _first_page_with_total(connection, builder, query)
    keys, checked, exhausted = _collect(connection, builder, query, start, backwards)
    more = len(keys) > query.count
    keys = keys[: query.count]
    if backwards:
        keys.reverse()
    has_next = (not backwards and more) or (backwards and start is not None)
    has_previous = (backwards and more) or (not backwards and start is not None)
    whole = start is None and exhausted and not more
    return KeysetPage(keys, _total(connection, builder, query, keys, whole), has_next,
                      has_previous, checked)  # fmt: skip


def _first_page_with_total(
    connection: Connection, builder: SearchSql, query: SearchQuery
) -> KeysetPage:
    """The first page and the number of all matches from one scan (a window count)."""
    stmt = builder.ordered(query).add_columns(func.count().over()).limit(query.count + 1)
    rows = connection.execute(stmt).all()
    total = int(rows[0][2]) if rows else 0
    keys: list[Key] = [(row[0], row[1]) for row in rows[: query.count]]
    return KeysetPage(keys, total, len(rows) > query.count, False)


def _collect(
    connection: Connection,
    builder: SearchSql,
    query: SearchQuery,
    start: str | None,
    backwards: bool,
) -> tuple[list[Key], dict[Key, StoredVersion], bool]:
    """Up to ``count + 1`` visible matches from ``start`` on; True when no more exist."""
    wanted = query.count + 1
    hidden = builder.restriction.hidden is not None
    found: list[Key] = []
    checked: dict[Key, StoredVersion] = {}
    cursor = start
    while len(found) < wanted:
        size = max(MIN_BATCH, (wanted - len(found)) * 5 // 4) if hidden else wanted
        stmt = builder.ordered(query, after=cursor, backwards=backwards).limit(size)
        rows: list[Key] = [(row[0], row[1]) for row in connection.execute(stmt)]
        if not hidden:
            return rows, checked, len(rows) < size
        for version in visible_versions(connection, rows, builder.restriction):
            key = (version.resource_type, version.resource_id)
            found.append(key)
            checked[key] = version
        if len(rows) < size:
            return found, checked, True
        cursor = rows[-1][1]
    return found, checked, False


def _total(
    connection: Connection,
    builder: SearchSql,
    query: SearchQuery,
    keys: list[Key],
    whole: bool,
) -> int | None:
    from samhandling.search.paging import TOTAL_THRESHOLD, count_matches

    if query.total == "none":
        return None
    if whole:
        return len(keys)
    if builder.restriction.hidden is not None and query.total != "accurate":
        return count_matches(connection, builder, query, TOTAL_THRESHOLD)
    return count_matches(connection, builder, query)
