"""``_sort`` (R4 §3.1.1.6.4): ORDER BY clauses over the index tables.

A parameter with several values per resource sorts by its lowest value ascending and its
highest value descending (dates: the start of the earliest range ascending, the end of the
latest descending). Resources without a value come last in either direction. The resource
type and id end every ordering, so the order is total and pages never tie.
Without ``_sort`` the order is by id (``_sort=_id``): it needs no resource row, so the
matches can come from narrow index rows alone (search/driver.py). A search over several
types without ``_sort`` is ordered by type, then id (``by_type``): the key of the rows it
starts from, so a page is read from an index range (search/keyset.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, tuple_

from samhandling.search.derived_rows import param_rows
from samhandling.search.model import SortKey
from samhandling.store.schema import INDEX_TABLES

DEFAULT_SORT = [SortKey("_id", "id", False)]
_COLUMNS = {
    "string": ("value_folded", "value_folded"),
    "token": ("code", "code"),
    "date": ("low_us", "high_us"),
    "number": ("value", "value"),
    "quantity": ("value", "value"),
    "uri": ("uri", "uri"),
    "reference": ("target_id", "target_id"),
}


def order_by(keys: list[SortKey], scope: Any) -> list[Any]:
    """ORDER BY expressions for ``keys`` over the resource rows of ``scope``."""
    clauses = []
    for key in keys or DEFAULT_SORT:
        expression = sort_expression(key, scope)
        ordered = expression.desc() if key.descending else expression.asc()
        clauses.append(ordered.nulls_last())
    clauses.extend((scope.row.c.resource_type, scope.id_col))
    return clauses


def by_type(scope: Any, descending: bool) -> list[Any]:
    """The default order of a search over several types: (type, id), the order of the
    compartment's key (patient, type, id), so a compartment's page is one index range.
    Over the resource table (no driver: ``_lastUpdated``, a system search's criteria) the
    type is sorted as an expression: PostgreSQL then sorts the matches, as before keyset
    paging, instead of walking the primary key in order in search of ``_count + 1`` rows a
    rare criterion may never give (``GET /fhir?_lastUpdated=gt2099-01-01``: 90-230 ms
    through 47,000 keys, where the sort took 45 ms; docs/SEARCH.md "Paging")."""
    kind = scope.row.c.resource_type
    columns = (kind if scope.probed else kind.concat(""), scope.id_col)
    return [column.desc() if descending else column.asc() for column in columns]


def past(scope: Any, key: tuple[str, str], descending: bool, typed: bool) -> Any:
    """The rows after ``key`` in the order (``descending``: before it): by id, or when the
    order is ``by_type`` by (type, id) as one row value, which both engines read as one
    index range."""
    if not typed:
        return scope.id_col < key[1] if descending else scope.id_col > key[1]
    row = tuple_(scope.row.c.resource_type, scope.id_col)
    mark = tuple_(*key)
    return row < mark if descending else row > mark


def sort_expression(key: SortKey, scope: Any) -> Any:
    if key.type == "id":
        return scope.id_col
    if key.type == "lastUpdated":
        return scope.row.c.last_updated_us
    table = INDEX_TABLES[key.type].alias()
    ascending, descending = _COLUMNS[key.type]
    column: Any = table.c[descending if key.descending else ascending]
    if key.type == "quantity":
        column = func.coalesce(column, table.c.low)
    aggregate = func.max(column) if key.descending else func.min(column)
    return (
        select(aggregate)
        .where(
            table.c.resource_type == scope.row.c.resource_type,
            table.c.resource_id == scope.id_col,
            param_rows(table.c, scope.resource_type, key.code),
        )
        .scalar_subquery()
    )
