"""``_include`` and ``_revinclude`` (R4 §3.1.1.5.4), with ``:iterate`` and ``*``.

Includes are computed per page from that page's matches. ``:iterate`` includes are applied
again to what the previous round included, up to ``MAX_ROUNDS`` rounds; at most
``MAX_INCLUDED`` resources are included per page (an OperationOutcome warning says when the
limit cut the list). Included resources pass the same restriction as matches. A versioned
reference (``Patient/1/_history/2``) includes the current version.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Select, and_, or_, select

from samhandling.search.derived_rows import param_rows
from samhandling.search.model import Include
from samhandling.search.restriction import SearchRestriction
from samhandling.search.visibility import Judged, allowed_keys, visible_versions
from samhandling.store.records import StoredVersion
from samhandling.store.schema import index_reference

Key = tuple[str, str]
MAX_ROUNDS = 4
MAX_INCLUDED = 1000


def included(
    connection: Connection,
    includes: list[Include],
    matches: list[StoredVersion],
    restriction: SearchRestriction,
    parsed: Judged | None = None,
) -> tuple[list[StoredVersion], bool]:
    """Resources the includes name for ``matches`` (not matches themselves); True if cut.
    The resources the restriction judged go into ``parsed`` (``visible_versions``)."""
    seen: set[Key] = {(m.resource_type, m.resource_id) for m in matches}
    found: list[StoredVersion] = []
    frontier = list(seen)
    rules = list(includes)
    for _ in range(MAX_ROUNDS):
        keys = [k for k in _linked(connection, rules, frontier) if k not in seen]
        seen.update(keys)
        keys = allowed_keys(connection, keys, restriction)
        new = list(visible_versions(connection, keys, restriction, parsed))
        if len(found) + len(new) > MAX_INCLUDED:
            return found + new[: MAX_INCLUDED - len(found)], True
        found.extend(new)
        frontier = [(v.resource_type, v.resource_id) for v in new]
        rules = [i for i in includes if i.iterate]
        if not frontier or not rules:
            break
    return found, False


def _linked(connection: Connection, rules: list[Include], frontier: list[Key]) -> list[Key]:
    """The resources `rules` link to `frontier`, by type and id: the order the database
    returned them in follows its plan, which fresh statistics can change (so which were
    cut at `MAX_INCLUDED`, and the Bundle's order, would too)."""
    keys: set[Key] = set()
    for rule in rules:
        stmt = _reverse(rule, frontier) if rule.reverse else _forward(rule, frontier)
        if stmt is not None:
            keys.update((t, i) for t, i in connection.execute(stmt) if t and i)
    return sorted(keys)


def _forward(rule: Include, frontier: list[Key]) -> Select[str, str] | None:
    r = index_reference.c
    ids_by_type = _by_type(k for k in frontier if rule.source_type in ("*", k[0]))
    if not ids_by_type:
        return None
    where = [
        or_(
            *(and_(r.resource_type == t, r.resource_id.in_(ids)) for t, ids in ids_by_type.items())
        ),
        r.url.is_(None),
        r.target_id.isnot(None),
        r.target_type.isnot(None),
    ]
    if rule.param != "*":
        source = None if rule.source_type == "*" else rule.source_type
        where.append(param_rows(r, source, rule.param))
    if rule.target_type:
        where.append(r.target_type == rule.target_type)
    return select(r.target_type, r.target_id).where(*where).distinct()


def _reverse(rule: Include, frontier: list[Key]) -> Select[str, str] | None:
    r = index_reference.c
    ids_by_type = _by_type(frontier)
    if rule.target_type:
        ids_by_type = {t: ids for t, ids in ids_by_type.items() if t == rule.target_type}
    if not ids_by_type:
        return None
    where = [
        or_(*(and_(r.target_type == t, r.target_id.in_(ids)) for t, ids in ids_by_type.items())),
        r.url.is_(None),
    ]
    if rule.source_type != "*":
        where.append(r.resource_type == rule.source_type)
    if rule.param != "*":
        source = None if rule.source_type == "*" else rule.source_type
        where.append(param_rows(r, source, rule.param))
    return select(r.resource_type, r.resource_id).where(*where).distinct()


def _by_type(keys: Iterable[Key]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for rtype, rid in keys:
        grouped.setdefault(rtype, []).append(rid)
    return grouped
