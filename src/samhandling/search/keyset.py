"""Keyset paging for searches ordered by id (the default order, ``_sort=_id``, ``-_id``),
and for searches over several types without ``_sort`` (``Patient/x/*``, ``_type=A,B``),
ordered by type, then id.

A page is "the next ``_count`` matches after key X" (``_after=X``) or "before key X"
(``_before=X``): one indexed query of ``_count + 1`` rows, whatever the number of matches,
instead of reading every match to store the list (``paging.py``). The key is the id, over
several types ``Type/id`` (``cursor_key``, ``cursor_text``). It never changes, so
a resource that matches when the first page is read and when a later page is read appears
exactly once: nothing is repeated and nothing that still matches is skipped, however the
resources change in between. A resource that stops matching in between is not shown (it is
not a match any more); one created in between appears if its key sorts after the cursor.
``total`` comes from a separate count; with a ``hidden`` restriction when it is known from
the page itself (every match seen), when there are at most ``paging.TOTAL_THRESHOLD``
matches, or when ``_total=accurate`` asks for the full check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, func

from samhandling.fhir.outcome import FhirError, error
from samhandling.search import paging
from samhandling.search.model import SearchQuery
from samhandling.search.sql import SearchSql
from samhandling.search.visibility import Judged, read_current_versions, visible_versions
from samhandling.store.records import StoredVersion
from samhandling.store.select_driver import select_rows

Key = tuple[str, str]
MIN_BATCH = 20
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # R4 id datatype


@dataclass
class KeysetPage:
    keys: list[Key]
    total: int | None
    has_next: bool
    has_previous: bool
    checked: dict[Key, StoredVersion] = field(default_factory=dict)
    parsed: Judged = field(default_factory=Judged)  # as judged, by key


def keyset_eligible(query: SearchQuery) -> bool:
    """Without an offset or a stored list, in the default order, or a single-type search
    ordered by id alone."""
    by_id = len(query.sort) == 1 and query.sort[0].type == "id" and _single(query)
    return (not query.sort or by_id) and query.cursor is None and query.offset == 0


def cursor_key(query: SearchQuery, text: str, name: str) -> Key:
    """The key a cursor (``_after``/``_before``) names: an id, over several types
    ``Type/id`` of a searched type; anything else is refused (400)."""
    if _single(query):
        resource_type, resource_id = query.types[0], text
    else:
        resource_type, _, resource_id = text.partition("/")
    if resource_type not in query.types or not _ID.fullmatch(resource_id):
        shape = "an id" if _single(query) else "Type/id of a searched type"
        raise FhirError(400, error("invalid", f"{name} must be {shape}", name))
    return resource_type, resource_id


def cursor_text(query: SearchQuery, key: Key) -> str:
    """The cursor naming ``key`` in a link (``cursor_key`` reads it back)."""
    return key[1] if _single(query) else f"{key[0]}/{key[1]}"


def _single(query: SearchQuery) -> bool:
    return len(query.types) == 1 and bool(query.types[0])


def keyset_page(connection: Connection, builder: SearchSql, query: SearchQuery) -> KeysetPage:
    backwards = query.before is not None and query.after is None
    start = _start(query, backwards)
    if start is None and builder.restriction.hidden is None and query.total != "none":
        return _first_page_with_total(connection, builder, query)
    probe = _count_probe(builder, query, start)
    scan = _collect(connection, builder, query, start, backwards, probe)
    keys = scan.found[: query.count]
    more = len(scan.found) > query.count
    if backwards:
        keys.reverse()
    has_next = (not backwards and more) or (backwards and start is not None)
    has_previous = (backwards and more) or (not backwards and start is not None)
    whole = start is None and scan.exhausted and not more and not scan.unchecked
    if probe:
        total = _probed_total(connection, builder, scan, whole)
    else:
        total = _total(connection, builder, query, keys, whole)
    return KeysetPage(keys, total, has_next, has_previous, scan.checked, scan.parsed)


def _start(query: SearchQuery, backwards: bool) -> Key | None:
    """The key the page starts after (``_after``), or before (``_before``)."""
    if backwards:
        return cursor_key(query, query.before or "", "_before")
    return None if query.after is None else cursor_key(query, query.after, "_after")


def _count_probe(builder: SearchSql, query: SearchQuery, start: Key | None) -> int:
    """How many rows the first statement of a first page under a ``hidden`` test fetches so
    that it also answers the default ``total``'s question, whether there are more than
    ``TOTAL_THRESHOLD`` matches (0: no such question; fetch only what the page needs).
    Asking it with a separate count would run the search's SQL a second time."""
    hidden = builder.restriction.hidden is not None
    if start is not None or not hidden or query.total in ("none", "accurate"):
        return 0
    return paging.TOTAL_THRESHOLD + 1


def _probed_total(
    connection: Connection, builder: SearchSql, scan: _Scan, whole: bool
) -> int | None:
    """The default ``total`` from a probed scan: None above ``TOTAL_THRESHOLD`` matches;
    else the visible ones, those the page did not need checked without keeping the decisions
    (as ``paging.count_matches`` counts)."""
    if not scan.exhausted or scan.fetched > paging.TOTAL_THRESHOLD:
        return None
    if whole:
        return len(scan.found)
    unchecked, restriction = scan.unchecked, builder.restriction
    return len(scan.found) + paging.visible_count(connection, unchecked, restriction, scan.read)


def _first_page_with_total(
    connection: Connection, builder: SearchSql, query: SearchQuery
) -> KeysetPage:
    """The first page and the number of all matches from one scan (a window count)."""
    stmt = builder.ordered(query).add_columns(func.count().over()).limit(query.count + 1)
    rows = select_rows(connection, stmt)
    total = int(rows[0][2]) if rows else 0
    keys: list[Key] = [(row[0], row[1]) for row in rows[: query.count]]
    exact = not query.stored_bytes
    return KeysetPage(keys, total, len(rows) > query.count, False, parsed=Judged(exact=exact))


@dataclass
class _Scan:
    """Matches checked in order: the visible ones found, whether the statement(s) returned
    every match, the matches fetched but not needed (nor checked) for the page,
    and how many rows were fetched."""

    found: list[Key] = field(default_factory=list)
    checked: dict[Key, StoredVersion] = field(default_factory=dict)
    parsed: Judged = field(default_factory=Judged)
    exhausted: bool = False
    unchecked: list[Key] = field(default_factory=list)
    fetched: int = 0
    #: the current versions of every match, read in one statement when they are to be
    #: counted (a probed first statement found at most `TOTAL_THRESHOLD`)
    read: dict[Key, StoredVersion] | None = None


def _collect(
    connection: Connection,
    builder: SearchSql,
    query: SearchQuery,
    start: Key | None,
    backwards: bool,
    probe: int = 0,
) -> _Scan:
    """Up to ``count + 1`` visible matches from ``start`` on, the first statement fetching
    at least ``probe`` rows."""
    wanted = query.count + 1
    hidden = builder.restriction.hidden is not None
    scan = _Scan(parsed=Judged(exact=not query.stored_bytes))
    cursor = start
    while len(scan.found) < wanted:
        size = max(MIN_BATCH, (wanted - len(scan.found)) * 5 // 4) if hidden else wanted
        limit, probing, probe = max(size, probe), probe > 0, 0
        stmt = builder.ordered(query, after=cursor, backwards=backwards).limit(limit)
        rows: list[Key] = [(t, i) for t, i in select_rows(connection, stmt)]
        scan.fetched += len(rows)
        if not hidden:
            return _Scan(rows, exhausted=len(rows) < size)
        if probing and len(rows) <= paging.TOTAL_THRESHOLD:
            # every match is judged (the page's, then the rest counted): one read, not two
            scan.read = read_current_versions(connection, rows)
        scan.unchecked = _check(connection, rows, wanted, scan, builder)
        if len(rows) < limit:
            scan.exhausted = True
            return scan
        cursor = rows[-1]
    return scan


def _check(
    connection: Connection, rows: list[Key], wanted: int, scan: _Scan, builder: SearchSql
) -> list[Key]:
    """Check ``rows`` in order until ``wanted`` visible matches are found; the rows left
    unchecked. First as many rows as are missing (when nothing is hidden, as is usual,
    nothing is read and judged in vain), then a quarter more than are missing at a time."""
    begin, step = 0, wanted - len(scan.found)
    while begin < len(rows) and len(scan.found) < wanted:
        batch = rows[begin : begin + step]
        judged = visible_versions(connection, batch, builder.restriction, scan.parsed, scan.read)
        for version in judged:
            key = (version.resource_type, version.resource_id)
            scan.found.append(key)
            scan.checked[key] = version
        begin += len(batch)
        step = max(MIN_BATCH, (wanted - len(scan.found)) * 5 // 4)
    return rows[begin:]


def _total(
    connection: Connection,
    builder: SearchSql,
    query: SearchQuery,
    keys: list[Key],
    whole: bool,
) -> int | None:
    if query.total == "none":
        return None
    if whole:
        return len(keys)
    if builder.restriction.hidden is not None and query.total != "accurate":
        return paging.count_matches(connection, builder, query, paging.TOTAL_THRESHOLD)
    return paging.count_matches(connection, builder, query)
