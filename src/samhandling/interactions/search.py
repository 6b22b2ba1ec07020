"""Search (R4 §3.1.1): a query string in, a searchset Bundle out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, func, select

from samhandling.fhir.outcome import operation_outcome
from samhandling.search.query import SearchQuery, parse_search
from samhandling.search.sql import matching_resources
from samhandling.store.reader import latest_tx, read_many_current
from samhandling.store.records import StoredVersion
from samhandling.store.schema import resource


def search(
    connection: Connection,
    resource_type: str,
    items: list[tuple[str, str]],
    base_url: str,
    *,
    lenient: bool = False,
) -> dict[str, Any]:
    """A searchset Bundle for the query, paged with a snapshot so pages stay consistent."""
    query = parse_search(resource_type, items, lenient=lenient)
    if query.snapshot_tx is None:
        query.snapshot_tx = latest_tx(connection)
    ids_stmt = matching_resources(query)
    total = connection.execute(select(func.count()).select_from(ids_stmt.subquery())).scalar_one()
    page_stmt = ids_stmt.order_by(resource.c.last_updated_us.desc(), resource.c.resource_id)
    rows = connection.execute(page_stmt.offset(query.offset).limit(query.count)).all()
    keys = [(r.resource_type, r.resource_id) for r in rows]
    found = read_many_current(connection, keys)
    entries = [_entry(base_url, found[k], mode="match") for k in keys if k in found]
    if query.ignored:
        entries.append(
            {"resource": operation_outcome(query.ignored), "search": {"mode": "outcome"}}
        )
    links = _search_links(base_url, resource_type, items, query, int(total))
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": int(total),
        "link": links,
        "entry": entries,
    }


def _search_links(
    base_url: str, resource_type: str, items: list[tuple[str, str]], query: SearchQuery, total: int
) -> list[dict[str, str]]:
    kept = [(k, v) for k, v in items if k not in ("_offset", "_snapshot", "_count")]

    def url(offset: int) -> str:
        extra = [
            ("_count", str(query.count)),
            ("_offset", str(offset)),
            ("_snapshot", str(query.snapshot_tx)),
        ]
        return f"{base_url}/{resource_type}?{urlencode(kept + extra)}"

    links = [{"relation": "self", "url": url(query.offset)}]
    if query.offset + query.count < total:
        links.append({"relation": "next", "url": url(query.offset + query.count)})
    if query.offset > 0:
        links.append({"relation": "previous", "url": url(max(0, query.offset - query.count))})
    return links


def _entry(base_url: str, version: StoredVersion, *, mode: str) -> dict[str, Any]:
    return {
        "fullUrl": f"{base_url}/{version.resource_type}/{version.resource_id}",
        "resource": version.resource(),
        "search": {"mode": mode},
    }
