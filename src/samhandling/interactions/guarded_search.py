"""Search under an access guard.

Until the search engine narrows queries itself (see docs/ARCHITECTURE.md), results the
caller may not see are removed after the query; `total` is given only when it is all on
this page and nothing was withheld, so the Bundle never tells how many were withheld.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from samhandling.access_guard import AccessGuard
from samhandling.interactions import search


def guarded_search(
    connection: Connection,
    resource_type: str,
    items: list[tuple[str, str]],
    base_url: str,
    guard: AccessGuard,
    *,
    lenient: bool = False,
) -> dict[str, Any]:
    """A searchset Bundle holding only what `guard` lets the caller see."""
    guard.check_request("search", resource_type)
    bundle = search.search(connection, resource_type, items, base_url, lenient=lenient)
    if not guard.inspects_resources:
        return bundle
    total = bundle.pop("total", None)
    bundle["entry"] = [
        entry
        for entry in bundle.get("entry", [])
        if entry.get("search", {}).get("mode") == "outcome"
        or guard.visible("search", entry["resource"])
    ]
    matches = [e for e in bundle["entry"] if e.get("search", {}).get("mode") == "match"]
    if total == len(matches):
        bundle["total"] = total  # truthful, and nothing was withheld
    return bundle
