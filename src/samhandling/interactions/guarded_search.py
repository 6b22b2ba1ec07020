"""Search under an access guard: the policy's narrowing handed to the search engine.

The engine applies the restriction to matches, includes, chains and compartments alike,
and counts only what the caller may see (see docs/SEARCH.md, "Restrictions").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from samhandling.access_guard import AccessGuard
from samhandling.interactions import search
from samhandling.interactions.searched_patients import searched_patients


def guarded_search(
    connection: Connection,
    resource_type: str | None,
    items: list[tuple[str, str]],
    base_url: str,
    guard: AccessGuard,
    *,
    lenient: bool = False,
    compartment: tuple[str, str] | None = None,
    stored_bytes: bool = False,
) -> dict[str, Any]:
    """A searchset Bundle holding only what `guard` lets the caller see; the guard notes
    the patients the search is fixed on (the audit record names them).

    `resource_type` None is a system-wide search (`[base]?_type=…`, or `Patient/x/*`).
    `stored_bytes`: the caller only serialises the Bundle (`interactions.search.search`).
    """
    searched = frozenset[str]()
    if guard.inspects_resources:  # looked at, whatever it finds
        searched = searched_patients(connection, resource_type, items, base_url, compartment)
    try:
        restriction = guard.search_restriction(resource_type)
    finally:
        guard.note_searched(searched)  # judged against the search's decision
    if compartment is not None and guard.inspects_resources:
        _check_compartment_owner(connection, compartment, guard)
    if resource_type is None:
        return search.system_search(
            connection, items, base_url, lenient=lenient, restriction=restriction,
            compartment=compartment, stored_bytes=stored_bytes,
        )  # fmt: skip
    return search.search(
        connection, resource_type, items, base_url, lenient=lenient, restriction=restriction,
        compartment=compartment, stored_bytes=stored_bytes,
    )  # fmt: skip


def _check_compartment_owner(
    connection: Connection, compartment: tuple[str, str], guard: AccessGuard
) -> None:
    """`Patient/x/Observation`: the caller must be allowed to see Patient x itself. Only
    checked: the Bundle does not return it, so the audit record does not name it (it names
    the patient, whom the search is fixed on)."""
    from samhandling.interactions.read import read

    read(connection, compartment[0], compartment[1], guard, shown=False)
