"""Search (R4 §3.1.1): a query string in, a searchset Bundle out.

Type search, compartment search (``Patient/1/Observation``) and system search
(``?_type=…``) share one path: parse, select the page's ordered matches (by keyset when
ordered by id or, over several types, by type and id, ``search/keyset.py``; else cached
for stable paging, ``search/paging.py``), read the page, add includes, shape by
``_summary``/``_elements``.

**Totals under a restriction.** Matches are restricted before they are counted, so
``total`` counts only what the caller may see. When a ``hidden`` test applies, it can only be
evaluated resource by resource: ``total`` is then given only when every match was checked
(at most ``paging.MAX_RESULTS``), and omitted otherwise — never a number that includes
withheld resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import Connection

from samhandling.fhir.outcome import Issue, operation_outcome
from samhandling.search import custom_parameters, paging
from samhandling.search.elements import shape
from samhandling.search.includes import included
from samhandling.search.keyset import cursor_text, keyset_eligible, keyset_page
from samhandling.search.model import SearchQuery
from samhandling.search.plans import values_planned
from samhandling.search.query import parse_search
from samhandling.search.restriction import UNRESTRICTED, SearchRestriction
from samhandling.search.sql import SearchSql
from samhandling.search.visibility import Judged, allowed_keys, visible_versions
from samhandling.store.records import StoredVersion

__all__ = ["SearchRestriction", "search", "system_search"]

LINK_DROPPED = frozenset({"_offset", "_snapshot", "_count", "_cursor", "_after", "_before"})


def search(
    connection: Connection,
    resource_type: str,
    items: list[tuple[str, str]],
    base_url: str,
    *,
    lenient: bool = False,
    restriction: SearchRestriction | None = None,
    compartment: tuple[str, str] | None = None,
    stored_bytes: bool = False,
) -> dict[str, Any]:
    """A searchset Bundle for a type search (or, with ``compartment``, a compartment search).

    With ``stored_bytes`` the entries' unshaped resources are the stored bytes
    (`orjson.Fragment`), for an answer that is only serialised (`_shows_stored_bytes`)."""
    custom_parameters.refresh(connection)
    query = parse_search(resource_type, items, lenient=lenient, base_url=base_url)
    query.compartment = compartment
    query.stored_bytes = _shows_stored_bytes(query, stored_bytes)
    path = resource_type
    if compartment is not None:
        path = f"{compartment[0]}/{compartment[1]}/{resource_type}"
    return _run(connection, query, items, f"{base_url}/{path}", restriction or UNRESTRICTED)


def system_search(
    connection: Connection,
    items: list[tuple[str, str]],
    base_url: str,
    *,
    lenient: bool = False,
    restriction: SearchRestriction | None = None,
    compartment: tuple[str, str] | None = None,
    stored_bytes: bool = False,
) -> dict[str, Any]:
    """``GET [base]?_type=A,B&…`` (all types without ``_type``; then only common parameters),
    or with ``compartment`` every type of the patient compartment (``Patient/1/*``)."""
    from samhandling.fhir.compartment import compartment_resource_types
    from samhandling.fhir.search_parameters import default_registry

    custom_parameters.refresh(connection)
    named = [t for k, v in items if k == "_type" for t in v.split(",") if t]
    types = tuple(sorted(set(named)))
    if compartment is not None and not types:
        types = tuple(sorted(compartment_resource_types() | {"Patient"}))
    _check_types(types, default_registry().resource_types)
    all_types = types or tuple(sorted(default_registry().resource_types))
    query = parse_search("", items, lenient=lenient, resource_types=all_types, base_url=base_url)
    query.compartment = compartment
    query.every_type = not named  # the compartment table holds only compartment types
    query.stored_bytes = _shows_stored_bytes(query, stored_bytes)
    path = f"{compartment[0]}/{compartment[1]}/*" if compartment else ""
    url = f"{base_url}/{path}" if path else base_url
    return _run(connection, query, items, url, restriction or UNRESTRICTED)


def _shows_stored_bytes(query: SearchQuery, asked: bool) -> bool:
    """Whether the Bundle shows the stored bytes of its resources: when the caller only
    serialises the answer (``asked``) and nothing reshapes them (``_summary``,
    ``_elements``). The stored content is what a read answers with as it is (meta
    included), so it is the resource shown; it is then parsed only to be judged and named in
    the audit record (`search.visibility.Judged`), and not written out again."""
    return asked and query.summary in (None, "false") and not query.elements


def _check_types(types: tuple[str, ...], known: frozenset[str]) -> None:
    from samhandling.fhir.outcome import FhirError, error

    unknown = [t for t in types if t not in known]
    if unknown:
        raise FhirError(
            400, error("not-supported", f"Unknown resource type(s) in _type: {unknown}")
        )


def _run(
    connection: Connection,
    query: SearchQuery,
    items: list[tuple[str, str]],
    url: str,
    restriction: SearchRestriction,
) -> dict[str, Any]:
    with values_planned(connection):
        return _planned(connection, query, items, url, restriction)


def _planned(
    connection: Connection,
    query: SearchQuery,
    items: list[tuple[str, str]],
    url: str,
    restriction: SearchRestriction,
) -> dict[str, Any]:
    builder = SearchSql(connection, restriction, base_url=query.base_url)
    if query.summary == "count" or (query.count == 0 and query.explicit_count):
        total = paging.count_matches(connection, builder, query)
        return _bundle(url, items, query, [], None, total, query.ignored)
    if keyset_eligible(query):
        keyset = keyset_page(connection, builder, query)
        parsed = keyset.parsed
        page = _versions(connection, keyset.keys, keyset.checked, restriction, parsed)
        links = _keyset_links(url, items, query, keyset.keys, keyset.has_next, keyset.has_previous)
        shown = Shown(page, keyset.total, False, parsed)
        bundle = _finish(connection, query, shown, links, url, items, restriction)
        return _with_withheld(connection, builder, query, keyset.total, bundle)
    key = paging.query_key(items, query, restriction)
    matches = paging.all_matches(connection, builder, query, key)
    page = _page(connection, matches, query, restriction)
    more = len(matches.keys) > query.offset + query.count
    links = _links(url, items, query, matches.search_id, more)
    shown = Shown(page, matches.total, matches.truncated, matches.parsed)
    bundle = _finish(connection, query, shown, links, url, items, restriction)
    return _with_withheld(connection, builder, query, matches.total, bundle)


def _with_withheld(
    connection: Connection,
    builder: SearchSql,
    query: SearchQuery,
    visible: int | None,
    bundle: dict[str, Any],
) -> dict[str, Any]:
    """The first page of a search whose restriction counts what it withholds (documents,
    as the national document service does) says how many, as an informational issue."""
    label = builder.restriction.withheld_label
    first = query.offset == 0 and not (query.cursor or query.after or query.before)
    if label is None or not first:
        return bundle
    withheld = paging.withheld_count(connection, builder, query, visible)
    if not withheld:
        return bundle
    noun = label.removesuffix("s") if withheld == 1 else label  # "1 document", "2 documents"
    issue = Issue("information", "informational", f"{withheld} {noun} withheld")
    entries = bundle["entry"]
    outcome = next((e for e in entries if e.get("search", {}).get("mode") == "outcome"), None)
    if outcome is None:
        resource = operation_outcome([issue])
        entries.append({"resource": resource, "search": {"mode": "outcome"}})
    else:
        outcome["resource"]["issue"].append(operation_outcome([issue])["issue"][0])
    return bundle


@dataclass(frozen=True)
class Shown:
    """A page of matches, what is known of their number, and the resources the restriction
    parsed to judge them (by key; the Bundle shows those without parsing them again)."""

    page: list[StoredVersion]
    total: int | None
    truncated: bool
    parsed: Judged


def _finish(
    connection: Connection,
    query: SearchQuery,
    shown: Shown,
    links: list[dict[str, str]],
    url: str,
    items: list[tuple[str, str]],
    restriction: SearchRestriction,
) -> dict[str, Any]:
    """Includes, outcome issues and the Bundle around a page of matches."""
    issues = list(query.ignored)
    parsed = shown.parsed
    found, cut = included(connection, query.includes, shown.page, restriction, parsed)
    if cut:
        issues.append(Issue("warning", "too-costly", "Not every included resource is shown"))
    if shown.truncated:
        message = f"Only the first {paging.MAX_RESULTS} matches can be paged through"
        issues.append(Issue("warning", "too-costly", message))
    entries = [_entry(query, v, "match", restriction, parsed) for v in shown.page]
    entries += [_entry(query, v, "include", restriction, parsed) for v in found]
    total = None if query.total == "none" else shown.total
    return _bundle(url, items, query, entries, links, total, issues)


def _versions(
    connection: Connection,
    keys: list[tuple[str, str]],
    checked: dict[tuple[str, str], StoredVersion],
    restriction: SearchRestriction,
    parsed: Judged,
) -> list[StoredVersion]:
    if all(k in checked for k in keys):
        return [checked[k] for k in keys]
    return list(visible_versions(connection, keys, restriction, parsed))


def _keyset_links(
    url: str,
    items: list[tuple[str, str]],
    query: SearchQuery,
    keys: list[tuple[str, str]],
    has_next: bool,
    has_previous: bool,
) -> list[dict[str, str]]:
    kept = [(k, v) for k, v in items if k not in LINK_DROPPED]
    joiner = "&" if "?" in url else "?"

    def link(relation: str, extra: list[tuple[str, str]]) -> dict[str, str]:
        query_string = urlencode([*kept, ("_count", str(query.count)), *extra])
        return {"relation": relation, "url": f"{url}{joiner}{query_string}"}

    here = [("_after", query.after)] if query.after else []
    here += [("_before", query.before)] if query.before and not query.after else []
    links = [link("self", here)]
    if has_next and keys:
        links.append(link("next", [("_after", cursor_text(query, keys[-1]))]))
    if has_previous and keys:
        links.append(link("previous", [("_before", cursor_text(query, keys[0]))]))
    return links


def _page(
    connection: Connection,
    matches: paging.Matches,
    query: SearchQuery,
    restriction: SearchRestriction,
) -> list[StoredVersion]:
    """The current versions of this page's matches, checked against the restriction again
    (a cached page may be served after the resources or the caller's access changed)."""
    keys = matches.keys[query.offset : query.offset + query.count]
    if query.cursor:  # the first request's SQL applied the patient restriction already
        keys = allowed_keys(connection, keys, restriction)
    checked = [matches.checked[k] for k in keys if k in matches.checked]
    if len(checked) == len(keys):
        return checked
    return list(visible_versions(connection, keys, restriction, matches.parsed))


def _bundle(
    url: str,
    items: list[tuple[str, str]],
    query: SearchQuery,
    entries: list[dict[str, Any]],
    links: list[dict[str, str]] | None,
    total: int | None,
    issues: list[Issue],
) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links if links is not None else _links(url, items, query, None, False)
    if issues:
        outcome = {"resource": operation_outcome(issues), "search": {"mode": "outcome"}}
        entries = [*entries, outcome]
    bundle["entry"] = entries
    return bundle


def _links(
    url: str, items: list[tuple[str, str]], query: SearchQuery, search_id: str | None, more: bool
) -> list[dict[str, str]]:
    kept = [(k, v) for k, v in items if k not in LINK_DROPPED]

    def page(offset: int) -> str:
        extra = [("_count", str(query.count))]
        if search_id:
            extra += [("_cursor", search_id), ("_offset", str(offset))]
        joiner = "&" if "?" in url else "?"
        return f"{url}{joiner}{urlencode(kept + extra)}"

    links = [{"relation": "self", "url": page(query.offset)}]
    if more and search_id:
        links.append({"relation": "next", "url": page(query.offset + query.count)})
    if query.offset > 0 and search_id:
        links.append({"relation": "previous", "url": page(max(0, query.offset - query.count))})
    return links


def _entry(
    query: SearchQuery,
    version: StoredVersion,
    mode: str,
    restriction: SearchRestriction,
    parsed: Judged,
) -> dict[str, Any]:
    """A match's or an included resource's entry, noted as shown (the audit record names
    what the Bundle returns, nothing else the search read)."""
    base = query.base_url or ""
    # taken, not read: each parsed resource goes into one entry (no dict shared between two)
    whole = parsed.pop((version.resource_type, version.resource_id), None) or parsed.parse(version)
    restriction.note_shown(whole)
    resource: Any
    if query.stored_bytes and version.content is not None:
        resource = orjson.Fragment(version.content)
    else:
        resource = shape(whole, query.summary, query.elements)
    return {
        "fullUrl": f"{base}/{version.resource_type}/{version.resource_id}",
        "resource": resource,
        "search": {"mode": mode},
    }
