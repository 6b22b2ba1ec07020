"""`_typeFilter` of a bulk export (Bulk Data Access 2.0): `Type?search-params`, several per
type (OR-ed), checked at the kick-off and applied through the search engine to each batch
of the snapshot walk (docs/BULK_EXPORT.md).

A filter holds search criteria only: no result, paging or include parameters, no chains
and no `_has` (they would reach resources of types the client was not granted). In a
de-identified export a filter may use only token parameters that are not identifiers
(`category`, `code`, `status`, ...), so that no filter can pick out a person by name,
identifier, id, reference or exact date and so learn their pseudonym.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from sqlalchemy import Connection

from samhandling.fhir.outcome import FhirError, error
from samhandling.search.model import Criterion
from samhandling.search.query import parse_search
from samhandling.search.sql import custom_plans, matching_resources

PARAMETER = "_typeFilter"
#: ids per statement: the search takes at most 100 values in one parameter
_IDS_PER_QUERY = 90
_NEXT_FILTER = re.compile(r",(?=[A-Z][A-Za-z]+\?)")
_IDENTIFYING = frozenset({"identifier", "telecom", "phone", "email", "_id"})


def parse_type_filters(
    values: list[str], types: list[str], *, deidentified: bool = False
) -> dict[str, list[str]]:
    """The filters per type (query strings without `Type?`) of the parameter's values
    (repeated, or comma-separated: a comma starts a new filter only before `Type?`, so
    `Observation?code=a,b` is one filter with two codes); 400 for a malformed or
    unsupported filter or one on a type outside the export's `types`."""
    found: dict[str, list[str]] = {}
    for value in [part for v in values for part in _NEXT_FILTER.split(v.strip()) if part]:
        resource_type, mark, criteria = value.partition("?")
        if not mark or not criteria or resource_type not in types:
            raise _invalid(f"{value!r} is not Type?criteria for an exported type")
        _check(resource_type, criteria, deidentified)
        found.setdefault(resource_type, []).append(criteria)
    return found


def _check(resource_type: str, criteria: str, deidentified: bool) -> None:
    items = parse_qsl(criteria, keep_blank_values=True)
    if not items:
        raise _invalid(f"{resource_type}?{criteria} has no criteria")
    query = parse_search(resource_type, items)  # 400 for anything the search refuses
    if len(query.criteria) != len(items):
        raise _invalid(f"{resource_type}?{criteria}: only search criteria are allowed")
    for criterion in query.criteria:
        if criterion.chain or criterion.has is not None or criterion.type == "has":
            raise _invalid(f"{resource_type}?{criteria}: chains and _has are not supported")
        if deidentified and not _safe_when_deidentified(criterion):
            message = (
                f"{resource_type}?{criteria}: a de-identified export filters on "
                f"non-identifying token parameters only, not {criterion.code}"
            )
            raise _invalid(message)


def _safe_when_deidentified(criterion: Criterion) -> bool:
    return criterion.type == "token" and criterion.code not in _IDENTIFYING


def matching_ids(
    connection: Connection, resource_type: str, filters: list[str], ids: list[str]
) -> set[str]:
    """Those of `ids` (of `resource_type`) that match at least one of `filters`, as the
    search engine matches their current versions."""
    found: set[str] = set()
    if not ids:
        return found
    custom_plans(connection)
    for criteria in filters:
        items = parse_qsl(criteria, keep_blank_values=True)
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ",".join(ids[start : start + _IDS_PER_QUERY])
            query = parse_search(resource_type, [*items, ("_id", chunk)])
            stmt = matching_resources(query, connection=connection)
            found.update(str(row[1]) for row in connection.execute(stmt))
    return found


def _invalid(message: str) -> FhirError:
    return FhirError(400, error("invalid", f"{PARAMETER}: {message}", PARAMETER))
