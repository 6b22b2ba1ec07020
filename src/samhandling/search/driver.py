"""Choosing the rows a search starts from (its "driver"), so that wide rows are not read.

Index rows and compartment rows exist only for the current, not deleted version of a
resource, so a search whose criteria are all answered by index rows can start from the rows
of one selective criterion (or from the patient compartment) instead of from ``resource``:
the matches and their sort keys then come from narrow index pages. The resource table is
still used when a criterion or the order needs it (``_lastUpdated``, ``_snapshot``).

The other criteria are checked row by row of the driver (``Scope.probed``; on PostgreSQL
each by the row's id, ``conditions.index_rows``), and a driving chain is resolved to its
targets' ids first (``SearchSql.typed_ids``): plans that hold before any ANALYZE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from samhandling.search.model import Criterion, SearchQuery
from samhandling.search.scope import Scope
from samhandling.store.schema import compartment

if TYPE_CHECKING:
    from samhandling.search.sql import SearchSql

# How well a criterion narrows a search, best first: exact references and tokens are
# usually a handful of rows, date ranges often most of a table. A chain
# (`subject:Patient.identifier=…`) names one or a few targets: the references to them are
# few, where a code alone can match a hundred thousand rows.
_RANK = {
    "reference": 0,
    "token": 1,
    "uri": 2,
    "text": 3,
    "string": 3,
    "quantity": 4,
    "number": 4,
    "date": 5,
}
_CHAIN_RANK = 0.5
_NO_DRIVER_MODIFIERS = frozenset({"missing", "not", "not-in", "above", "below", "contains", "text"})


def plan_driver(
    builder: SearchSql, query: SearchQuery, single: str | None
) -> tuple[Scope, list[Criterion]] | None:
    """(scope over the driving rows, the criteria left to check) or None: use ``resource``."""
    if query.snapshot_tx is not None or any(k.type == "lastUpdated" for k in query.sort):
        return None
    if any(c.type == "lastUpdated" for c in query.criteria):
        return None
    if query.compartment is not None:
        if query.compartment[0] != "Patient":
            return None
        rows = compartment.c
        stmt = select(rows.resource_type, rows.resource_id).where(
            rows.patient_id == query.compartment[1]
        )
        if single:
            stmt = stmt.where(rows.resource_type == single)
        elif query.resource_types and not query.every_type:
            stmt = stmt.where(rows.resource_type.in_(query.resource_types))
        return Scope(stmt.subquery(), single, probed=True), list(query.criteria)
    best = _best(query.criteria) if single else None
    if best is None:
        return None
    if best.chain:
        table, rows_key, match = builder.chain_parts(best, single, resolve=True)
    else:
        table, rows_key, match = builder.index_parts(best, single)
    driving = select(table.c.resource_type, table.c.resource_id).where(*rows_key, match).distinct()
    rest = [c for c in query.criteria if c is not best]
    return Scope(driving.subquery(), single, probed=True), rest


def _best(criteria: list[Criterion]) -> Criterion | None:
    usable = [c for c in criteria if c.type in _RANK and c.modifier not in _NO_DRIVER_MODIFIERS]
    return min(usable, key=_rank, default=None)


def _rank(criterion: Criterion) -> float:
    return _CHAIN_RANK if criterion.chain else _RANK[criterion.type]
