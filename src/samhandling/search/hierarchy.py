"""``:above`` and ``:below`` on circular reference parameters (``Location?partof:below=…``).

Only parameters whose resources refer to resources of their own type form a hierarchy that
this server can walk (Location.partof, Organization.partof, …). ``:below=Location/1`` finds
every location under Location/1 (at any depth); ``:above=Location/3`` every location above
it. The walk is bounded at ``MAX_DEPTH`` levels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from samhandling.fhir.outcome import FhirError, error
from samhandling.search.derived_rows import param_rows
from samhandling.search.model import Criterion
from samhandling.store.schema import index_reference

if TYPE_CHECKING:
    from samhandling.search.sql import SearchSql

MAX_DEPTH = 16


def hierarchy_ids(builder: SearchSql, resource_type: str, criterion: Criterion) -> set[str]:
    parameter = criterion.parameter
    if parameter is None or tuple(parameter.targets) != (resource_type,):
        message = f":{criterion.modifier} needs a parameter referring to {resource_type} itself"
        raise FhirError(400, error("not-supported", message, criterion.code))
    connection = builder._connection()
    start = {v.rsplit("/", 1)[-1] for v in criterion.values}
    downward = criterion.modifier == "below"
    found: set[str] = set()
    frontier = start
    for _ in range(MAX_DEPTH):
        if not frontier:
            break
        ours, theirs = (
            (index_reference.c.resource_id, index_reference.c.target_id)
            if downward
            else (index_reference.c.target_id, index_reference.c.resource_id)
        )
        stmt = select(ours).where(
            index_reference.c.resource_type == resource_type,
            param_rows(index_reference.c, resource_type, criterion.code, registry=builder.registry),
            index_reference.c.target_type == resource_type,
            index_reference.c.url.is_(None),
            theirs.in_(sorted(frontier)),
        )
        step = {rid for rid in connection.execute(stmt).scalars() if rid is not None}
        frontier = step - found - start
        found |= step
    return found - start
