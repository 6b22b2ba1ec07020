"""Turning parsed search criteria into SQL over the resource and index tables.

Every criterion becomes one condition on a resource row: ``EXISTS`` over an alias of its
typed index table, with its OR-ed values inside. Chains select the referenced resources
with the chained criterion; ``_has`` selects the referring ones. A ``SearchRestriction``
narrows every one of these selections, so no part of a query reaches a resource the caller
may not see (see docs/SEARCH.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Select, and_, false, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.search_parameters import SearchParameterRegistry, default_registry
from samhandling.search import conditions as cond
from samhandling.search import token_terminology
from samhandling.search.aliases import TableAliases
from samhandling.search.composite import composite_ids
from samhandling.search.derived_rows import pooled_param_rows
from samhandling.search.driver import plan_driver
from samhandling.search.full_text import text_condition
from samhandling.search.model import Criterion, SearchQuery, SortKey
from samhandling.search.reference_values import reference
from samhandling.search.restriction import UNRESTRICTED, SearchRestriction
from samhandling.search.scope import Scope, in_compartment, within_restriction
from samhandling.search.sorting import DEFAULT_SORT, by_type, order_by, past
from samhandling.search.token_terminology import TERMINOLOGY_MODIFIERS
from samhandling.search.value_conditions import value_match
from samhandling.search.visibility import visible_target_ids
from samhandling.store.database import is_sqlite
from samhandling.store.schema import INDEX_TABLES, resource
from samhandling.store.select_driver import select_rows

Condition = ColumnElement[bool]
MAX_INNER_IDS = 30_000
#: a driving chain naming more targets than this stays a sub-select (`typed_ids`)
RESOLVED_TARGETS = 1_000
#: criteria of one search joined in one planning problem; the rest are planned one by one
JOINED_CRITERIA = 10


class SearchSql:
    """Builds the SQL of one search for one caller (restriction) and database connection."""

    def __init__(
        self,
        connection: Connection | None = None,
        restriction: SearchRestriction | None = None,
        registry: SearchParameterRegistry | None = None,
        base_url: str | None = None,
    ) -> None:
        self.connection = connection
        self.restriction = restriction or UNRESTRICTED
        self.registry = registry or default_registry()
        self.base_url = base_url
        # probes written so that only an index by resource id answers them (`index_rows` of
        # conditions.py):
        # for PostgreSQL's planner; SQLite's, without statistics, then picks a covering index
        # by type alone, worse than the value index it picks for the plain form
        self.probes_by_id = connection is None or not is_sqlite(connection)
        # the visible ids of each chained or `_has` target selection, resolved once: the
        # SQL of one search is built more than once (page, count), and each resolution reads
        # the targets and asks the policy about each of them
        self._visible_targets: dict[tuple[str, tuple[Criterion, ...]], list[str]] = {}
        self.aliases = TableAliases()  # pooled: made once per process (search/aliases.py)

    # --- whole queries ------------------------------------------------------------------

    def matches(self, query: SearchQuery) -> Select[str, str]:
        """SELECT (resource_type, resource_id) of current resources matching the query."""
        scope, where = self._plan(query)
        return select(scope.row.c.resource_type, scope.row.c.resource_id).where(*where)

    def ordered(
        self,
        query: SearchQuery,
        *,
        after: tuple[str, str] | None = None,
        backwards: bool = False,
    ) -> Select[str, str]:
        """The matches in order; for keyset paging (ordered by id, or over several types
        without ``_sort`` by type and id) only those after the key ``after`` (type, id) in
        the order, or, ``backwards``, before it."""
        scope, where = self._plan(query)
        keys = query.sort or DEFAULT_SORT
        if backwards:
            keys = [SortKey(k.code, k.type, not k.descending) for k in keys]
        descending = keys[0].descending
        typed = scope.resource_type is None and not query.sort  # several types: (type, id)
        if after is not None:
            where.append(past(scope, after, descending, typed))
        stmt = select(scope.row.c.resource_type, scope.row.c.resource_id).where(*where)
        return stmt.order_by(*(by_type(scope, descending) if typed else order_by(keys, scope)))

    def _plan(self, query: SearchQuery) -> tuple[Scope, list[Condition]]:
        """The rows to start from and the conditions on them.

        When no condition needs the resource row itself (``_lastUpdated``), the search starts
        from the index rows of its most selective criterion, or from the compartment rows:
        index and compartment rows exist only for current, not deleted resources, so the
        wide resource rows are never read (docs/SEARCH.md, "Query shapes").
        """
        types = query.types
        single = types[0] if len(types) == 1 and types[0] else None
        driven = plan_driver(self, query, single)
        if driven is not None:
            scope, rest = driven
            return scope, [
                *self.criteria(rest, scope),
                *within_restriction(scope, self.restriction),
            ]
        scope = Scope(resource, single)
        where: list[Condition] = [resource.c.deleted.is_(False)]
        if single:
            where.append(resource.c.resource_type == single)
        elif query.resource_types and not query.every_type:
            where.append(resource.c.resource_type.in_(query.resource_types))
        if query.snapshot_tx is not None:
            where.append(resource.c.tx_id <= query.snapshot_tx)
        if query.compartment is not None:
            where.append(in_compartment(scope, *query.compartment))
        where.extend(self.criteria(query.criteria, scope))
        return scope, [*where, *within_restriction(scope, self.restriction)]

    # --- the targets of chains and _has -------------------------------------------------

    def typed_ids(
        self, resource_type: str, criteria: list[Criterion], *, resolve: bool = False
    ) -> Any:
        """Ids of ``resource_type`` resources matching ``criteria`` that the caller may see:
        a sub-select, or (when a ``hidden`` test applies, or with ``resolve`` up to
        RESOLVED_TARGETS of them) the visible ids as a list.

        A chain that drives a search is resolved first: `target_id IN (<ids>)` is one index
        range whatever the planner knows, where the planner without statistics joined the
        sub-select the other way round, from every reference of the parameter (20 patients
        never analysed: 110,000 buffers, 450 ms against 1 ms; EXPLAIN ANALYZE)."""
        key = (resource_type, tuple(criteria))
        if key in self._visible_targets:
            return self._visible_targets[key]
        if resolve and self.restriction.hidden is None and self.connection is not None:
            return self._resolved(key, resource_type, criteria)
        row = self.aliases.take(resource)
        scope = Scope(row, resource_type)
        stmt = select(row.c.resource_id).where(
            row.c.resource_type == resource_type,
            row.c.deleted.is_(False),
            *self.criteria(criteria, scope),
            *within_restriction(scope, self.restriction),
        )
        if self.restriction.hidden is None:
            return stmt
        connection = self._connection()
        found = visible_target_ids(connection, resource_type, row, stmt, self.restriction)
        self._visible_targets[key] = found
        return found

    def _resolved(
        self, key: tuple[str, tuple[Criterion, ...]], resource_type: str, criteria: list[Criterion]
    ) -> Any:
        """The matching ids read now, found from the index rows of the most selective
        criterion (`plan_driver`); the sub-select instead if there are too many."""
        driven = plan_driver(self, SearchQuery(resource_type, list(criteria)), resource_type)
        if driven is None:
            found: Any = self.typed_ids(resource_type, criteria)
        else:
            scope, rest = driven
            found = select(scope.id_col).where(
                *self.criteria(rest, scope), *within_restriction(scope, self.restriction)
            )
        limited = found.limit(RESOLVED_TARGETS + 1)
        rows = [row[0] for row in select_rows(self._connection(), limited)]
        if len(rows) <= RESOLVED_TARGETS:
            found = sorted(rows)
        self._visible_targets[key] = found
        return found

    def _connection(self) -> Connection:
        if self.connection is None:
            raise FhirError(500, error("exception", "This search needs a database connection"))
        return self.connection

    # --- criteria -------------------------------------------------------------------------

    def criteria(self, criteria: list[Criterion], scope: Scope) -> list[Condition]:
        """The conditions of `criteria`, those after the first JOINED_CRITERIA as `… IS
        TRUE`: PostgreSQL turns an `EXISTS` only at the top of the WHERE into a semi-join,
        so these are planned on their own (sub-plans), outside the one join problem of the
        others. PostgreSQL 15 plans that problem in time growing faster than the number of
        criteria, the more so over partitioned tables (each index table in 8 partitions on
        the patient-partitioned layout, store/layout.py): 100 criteria took 150 ms to plan
        on plain tables, over 30 s on partitioned ones; with all but 10 apart, 24 and 125 ms
        (EXPLAIN, PostgreSQL 15 on a loaded machine)."""
        found = [self.criterion(c, scope) for c in criteria]
        return [*found[:JOINED_CRITERIA], *(c.is_(true()) for c in found[JOINED_CRITERIA:])]

    def criterion(self, criterion: Criterion, scope: Scope) -> Condition:
        if criterion.type == "id":
            return self._id(criterion, scope)
        if criterion.type == "lastUpdated":
            return self._last_updated(criterion, scope)
        if criterion.type == "has":
            return self._has(criterion, scope)
        if criterion.chain:
            return self._chain(criterion, scope)
        if criterion.type == "composite" and criterion.modifier != "missing":
            return self._composite(criterion, scope)
        return self._indexed(criterion, scope)

    def _id(self, criterion: Criterion, scope: Scope) -> Condition:
        if criterion.modifier == "missing":
            return false() if criterion.values[0] == "true" else true()
        matched = scope.id_col.in_(list(criterion.values))
        return not_(matched) if criterion.modifier == "not" else matched

    def _last_updated(self, criterion: Criterion, scope: Scope) -> Condition:
        if criterion.modifier == "missing":
            return false() if criterion.values[0] == "true" else true()
        column = scope.row.c.last_updated_us
        ranges = [cond.parse_date_value(criterion.code, v) for v in criterion.values]
        return or_(*(cond.date_range(column, column + 1, r) for r in ranges))

    def _indexed(self, criterion: Criterion, scope: Scope) -> Condition:
        if criterion.type == "reference" and criterion.modifier in ("above", "below"):
            return self._hierarchy(criterion, scope)
        probe = scope.probed and self.probes_by_id
        table, rows, match = self.index_parts(criterion, scope.type_expr, probe=probe)
        found = cond.index_rows(probe, *rows, table.c.resource_id == scope.id_col, match)
        if criterion.modifier == "missing":
            return not_(found) if criterion.values[0] == "true" else found
        return not_(found) if criterion.modifier in ("not", "not-in") else found

    def index_parts(
        self, criterion: Criterion, type_expr: Any, *, probe: bool = False
    ) -> tuple[Any, list[Condition], Condition]:
        """The index-table alias of a criterion, its row key conditions and its value match
        (`probe`: for rows looked up by resource id, see `conditions.index_rows`)."""
        kind, suffix = criterion.type, ""
        if criterion.modifier == "identifier":
            kind, suffix = "token", ":identifier"
        elif criterion.modifier == "of-type":
            suffix = ":of-type"
        table = self.aliases.take(INDEX_TABLES[kind])
        rows = [
            table.c.resource_type == type_expr,
            self._param_rows(table, type_expr, criterion.code, suffix, probe=probe),
        ]
        if criterion.modifier == "missing":
            return table, rows, true()
        matcher = self._matcher(kind, criterion)
        make = lambda: or_(*(matcher(table.c, v) for v in criterion.values))  # noqa: E731
        return table, rows, value_match(table, kind, criterion, self.base_url, make)

    def _param_rows(
        self, table: Any, type_expr: Any, code: str, suffix: str = "", *, probe: bool = False
    ) -> Condition:
        """The rows of parameter ``code`` (its own or those it is derived from); a `probe`'s
        parameter column as an expression (`conditions.param_of`)."""
        resource_type = type_expr if isinstance(type_expr, str) else None
        registry = self.registry
        return pooled_param_rows(
            table, resource_type, code, suffix, probe, registry, registry.generation
        )

    def _matcher(self, kind: str, criterion: Criterion) -> Callable[[Any, str], Condition]:
        modifier, code = criterion.modifier, criterion.code
        matchers: dict[str, Callable[[Any, str], Condition]] = {
            "token": lambda c, v: cond.token(c, None if modifier == "not" else modifier, v),
            "string": lambda c, v: cond.string(c, modifier, v),
            "uri": lambda c, v: cond.uri(c, modifier, v),
            "date": lambda c, v: cond.date(c, v, code),
            "number": lambda c, v: cond.number(c, v, code),
            "quantity": lambda c, v: cond.quantity(c, v, code),
            "reference": lambda c, v: reference(c, modifier, v, self.base_url),
            "text": lambda c, v: text_condition(c, code, v),
        }
        if modifier == "identifier":
            return matchers["token"]
        if kind == "token" and modifier in TERMINOLOGY_MODIFIERS:
            walk = "in" if modifier == "not-in" else modifier  # the caller negates :not-in
            return lambda c, v: token_terminology.condition(c, walk, v)
        return matchers[kind]

    def _chain(self, criterion: Criterion, scope: Scope) -> Condition:
        probe = scope.probed and self.probes_by_id
        refs, rows, match = self.chain_parts(criterion, scope.type_expr, probe=probe)
        return cond.index_rows(probe, *rows, refs.c.resource_id == scope.id_col, match)

    def chain_parts(
        self, criterion: Criterion, type_expr: Any, *, probe: bool = False, resolve: bool = False
    ) -> tuple[Any, list[Condition], Condition]:
        """Like `index_parts` for a chained criterion: reference rows pointing at a match
        (`resolve`: the matching targets read first, see `typed_ids`)."""
        refs = self.aliases.take(INDEX_TABLES["reference"])
        targets = [
            and_(
                refs.c.target_type == target,
                refs.c.target_id.in_(self.typed_ids(target, [inner], resolve=resolve)),
            )
            for target, inner in criterion.chain
        ]
        rows = [
            refs.c.resource_type == type_expr,
            self._param_rows(refs, type_expr, criterion.code, probe=probe),
            refs.c.url.is_(None),
        ]
        return refs, rows, or_(*targets)

    def _has(self, criterion: Criterion, scope: Scope) -> Condition:
        link = criterion.has
        assert link is not None
        refs = self.aliases.take(INDEX_TABLES["reference"])
        sources = self.typed_ids(link.source_type, [link.inner])
        referenced = select(refs.c.target_id).where(
            refs.c.resource_type == link.source_type,
            self._param_rows(refs, link.source_type, link.reference_param),
            refs.c.target_type == scope.type_expr,
            refs.c.url.is_(None),
            refs.c.resource_id.in_(sources),
        )
        return scope.id_col.in_(referenced)

    def _composite(self, criterion: Criterion, scope: Scope) -> Condition:
        if scope.resource_type is None:
            raise FhirError(400, error("not-supported", "Composite parameters need one type"))
        ids = composite_ids(self._connection(), self.registry, scope.resource_type, criterion)
        if len(ids) > MAX_INNER_IDS:
            raise _too_costly(criterion.code)
        return scope.id_col.in_(sorted(ids))

    def _hierarchy(self, criterion: Criterion, scope: Scope) -> Condition:
        from samhandling.search.hierarchy import hierarchy_ids

        if scope.resource_type is None:
            raise FhirError(400, error("not-supported", ":above/:below need one resource type"))
        ids = hierarchy_ids(self, scope.resource_type, criterion)
        return scope.id_col.in_(sorted(ids))


def _too_costly(code: str) -> FhirError:
    message = f"The search on {code} matches too many resources; narrow it down"
    return FhirError(400, error("too-costly", message, code))


def custom_plans(connection: Connection) -> None:
    """Plan every search statement for its values (PostgreSQL), for this transaction.

    psycopg prepares a statement executed often, and PostgreSQL then may switch to a generic
    plan that ignores the values; for search SQL, whose best plan depends entirely on how
    selective each value is (one patient's rows or everybody's), that plan can be orders of
    magnitude slower.
    """
    if not is_sqlite(connection):
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


def matching_resources(
    query: SearchQuery,
    *,
    connection: Connection | None = None,
    restriction: SearchRestriction | None = None,
) -> Select[str, str]:
    """SELECT (resource_type, resource_id) of current resources matching every criterion."""
    return SearchSql(connection, restriction, base_url=query.base_url).matches(query)
