"""search: no index rows for parameters answered from other parameters' rows

A parameter whose values are exactly the union of other parameters' values (Observation
`combo-code` = `code` ∪ `component-code`) or exactly the references of another reference
parameter to one target type (`patient` = the `subject` references to a Patient) is no
longer written; search answers it from the other rows (fhir/derived_parameters.py,
docs/SEARCH.md). This deletes the rows written before, for the official parameters and the
stored custom SearchParameters (a custom parameter that redefines such a code keeps its
rows). A restriction's `:identifier` token rows stay (they are still written). Downgrade
copies the rows back from their sources.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

from samhandling.fhir import json_codec
from samhandling.fhir.derived_parameters import Derivation
from samhandling.fhir.search_parameters import (
    InvalidSearchParameterError,
    SearchParameterRegistry,
)

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table, resource_type, param, _ in _derived_rows():
        statement = f"DELETE FROM {table} WHERE resource_type = :t AND param = :p"
        op.execute(sa.text(statement).bindparams(t=resource_type, p=param))


def downgrade() -> None:
    bind = op.get_bind()
    for table, resource_type, param, (derivation, suffix) in _derived_rows():
        columns = [c["name"] for c in sa.inspect(bind).get_columns(table)]
        kept = ", ".join(c for c in columns if c not in ("row_id", "param"))
        sources: sa.BindParameter[list[str]] = sa.bindparam(
            "sources", list(derivation.params(suffix)), expanding=True
        )
        where = "resource_type = :t AND param IN :sources"
        values: dict[str, str] = {"t": resource_type, "p": param}
        if derivation.target_type is not None:
            where += " AND target_type = :target"
            values["target"] = derivation.target_type
        statement = (
            f"INSERT INTO {table} ({kept}, param) "
            f"SELECT DISTINCT {kept}, :p FROM {table} WHERE {where}"
        )
        op.execute(sa.text(statement).bindparams(sources, **values))


def _derived_rows() -> Iterator[tuple[str, str, str, tuple[Derivation, str]]]:
    """(index table, resource type, param, (derivation, suffix)) of every row kind that is
    no longer written."""
    registry = _registry()
    for resource_type in sorted(registry.resource_types):
        parameters = registry.for_type(resource_type)
        for code, derivation in sorted(registry.derived(resource_type).items()):
            kind = parameters[code].type
            yield f"index_{kind}", resource_type, code, (derivation, "")
            if derivation.target_type is None and kind in ("token", "reference"):
                for suffix in (":of-type", ":identifier"):  # a union's extra token rows
                    yield "index_token", resource_type, code + suffix, (derivation, suffix)


def _registry() -> SearchParameterRegistry:
    """The official parameters plus the stored custom ones (as the server loads them)."""
    registry = SearchParameterRegistry.official()
    rows = op.get_bind().execute(
        sa.text(
            "SELECT content FROM resource WHERE resource_type = 'SearchParameter' AND deleted = :no"
        ).bindparams(no=False)
    )
    pending = [json_codec.parse(content) for (content,) in rows if content]
    for _ in range(2):  # a composite may name a component defined by a later one
        retry = []
        for item in pending:
            official = str(item.get("url", "")).startswith("http://hl7.org/fhir/SearchParameter/")
            if official or item.get("status") not in ("active", "draft", None):
                continue
            try:
                registry.add(item)
            except InvalidSearchParameterError:
                retry.append(item)
        pending = retry
    return registry
