"""Many searches `code=system|value` of one token parameter, answered by one statement.

A batch chunk's conditional creates are each conditional on one identifier
(`identifier=system|value`, docs/MEASUREMENTS.md): up to a hundred searches of one
parameter that differ only in the value. One statement finds the union of their matches
(the search `identifier=a,b,…`); the index rows it reads say which value each match
carries, so every search's answer is recovered exactly: token matching is equality of
`system` and `code` (`conditions.token`), the same in SQL and in Python.

The statement asks for `code IN (…)` only; the system is compared in Python. PostgreSQL
15 turned the search's OR of fifty `system = s AND code = v` pairs sharing one system
(and, with statistics that had not seen the system yet, `system = s AND code IN (…)` as
well) into a scan of every identifier row of that system with the codes as a filter:
26,600 rows read for 25 matches, 340 ms. With the code alone the index
`(resource_type, param, code, …)` is one probe per value, as long as the statistics know
that the type has rows of the parameter: where they say it has none (a database analysed
before its first measurement, autovacuum off) PostgreSQL 15 reads all of them with the
codes as a filter, `IN` and `ANY` alike (bench/RESULTS.md, branch batch20b).

On PostgreSQL the codes are one array parameter (`code = ANY(%(codes)s)`, which PostgreSQL
plans as it plans `IN (…)`): the statement's text and its four parameters are the same
for every chunk, so SQLAlchemy compiles it once and psycopg converts it once (a statement
of more than 50 parameters, `IN` with fifty values, psycopg parses again at every run).
It goes on psycopg's cursor, unprepared as a search's statements are (`plans.values_planned`:
PostgreSQL plans it for the codes it is given, without a `SET LOCAL plan_cache_mode` of its
own), also in a batch chunk's write transaction (`select_rows(…, in_write_transaction=True)`:
the rows queued before it are inserted first): one exchange and SQLAlchemy's execution of
two statements less per chunk.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Connection, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from samhandling.fhir.request_limits import check_search_size
from samhandling.search.model import Criterion
from samhandling.search.plans import values_planned
from samhandling.search.query import parse_search
from samhandling.search.restriction import SearchRestriction
from samhandling.search.scope import Scope, within_restriction
from samhandling.search.sql import SearchSql
from samhandling.search.values import TokenValue
from samhandling.search.visibility import visible_versions
from samhandling.store.database import is_sqlite
from samhandling.store.select_driver import select_rows

Token = tuple[str | None, str | None]
_CODES = ARRAY(String)


def token_matches(
    connection: Connection,
    resource_type: str,
    code: str,
    values: list[str],
    restriction: SearchRestriction | None,
    *,
    first: int,
    most: int,
) -> dict[str, list[str]] | None:
    """For each `system|value` of `values`, the ids (in id order, at most `first`) of the
    current resources of `resource_type` that a search `code=system|value` under
    `restriction` finds; None when the values are not plain `system|value` tokens of a
    token parameter or together they match more than `most` index rows (search them one
    by one; rows of these codes under other systems count too; so is a value without a
    system or a code). Raises the search's FhirError (an unknown parameter, too many
    values)."""
    planned = _plain_criterion(resource_type, code, values)
    if planned is None:
        return None
    criterion, parsed = planned
    builder = SearchSql(connection, restriction)
    # the table and its row keys only: a `:missing` criterion's parts have no value match
    # to build (the row keys of a token parameter are the same with or without it)
    keys_only = dataclasses.replace(criterion, modifier="missing", values=("true",))
    table, rows, _ = builder.index_parts(keys_only, resource_type)
    restricted = within_restriction(Scope(table, resource_type), builder.restriction)
    match = _code_in(connection, table, [parsed[v].code for v in criterion.values])
    stmt = select(table.c.resource_id, table.c.system, table.c.code).where(
        *rows, match, *restricted
    )
    with values_planned(connection):  # never prepared: planned for these codes
        found = select_rows(connection, stmt.limit(most + 1), in_write_transaction=True)
    if len(found) > most:
        return None
    owners = _owners(found, parsed)
    visible = _visible(connection, resource_type, set().union(*owners.values()), restriction)
    answers = {}
    for value, token in parsed.items():
        ids = owners.get((token.system, token.code), set()) & visible
        answers[value] = sorted(ids)[:first]
    return answers


def _plain_criterion(
    resource_type: str, code: str, values: list[str]
) -> tuple[Criterion, dict[str, TokenValue]] | None:
    """The criterion `code=v1,v2,…` and each value's token; None unless every value is a
    plain `system|value` of a token parameter. Raises the search's FhirError."""
    if not values or any("," in v or "\\" in v for v in values):
        return None
    unique = list(dict.fromkeys(values))
    # The parameter parsed with one value (`identifier=a,b,…` split and parsed as a whole
    # was a third of a batch chunk's look-up); without commas and backslashes the values
    # are what splitting the list gives, and each token is a plain split (`plain_token`).
    check_search_size([(code, ",".join(unique))])
    criterion = parse_search(resource_type, [(code, unique[0])]).criteria[0]
    criterion = dataclasses.replace(criterion, values=tuple(unique))
    parsed = {value: plain_token(value) for value in unique}
    return (criterion, parsed) if _plain_token(criterion, parsed) else None


def _owners(found: list[tuple[Any, ...]], parsed: dict[str, TokenValue]) -> dict[Token, set[str]]:
    """The ids of the rows found, by the token they match (the same code under another
    system is no match)."""
    wanted = {(t.system, t.code) for t in parsed.values()}
    owners: dict[Token, set[str]] = {}
    for resource_id, system, token_code in found:
        if (system, token_code) in wanted:
            owners.setdefault((system, token_code), set()).add(resource_id)
    return owners


def _code_in(connection: Connection, table: Any, codes: list[str | None]) -> Any:
    """`code IN (codes)`; on PostgreSQL `code = ANY(codes)`, one parameter (see above)."""
    if is_sqlite(connection):
        return table.c.code.in_(codes)
    return table.c.code == any_(bindparam("codes", codes, type_=_CODES))


def plain_token(value: str) -> TokenValue:
    """`values.parse_token` of a value without a backslash (no escapes to undo)."""
    system, bar, code = value.partition("|")
    return TokenValue(system, code or None) if bar else TokenValue(None, value)


def _plain_token(criterion: Criterion, parsed: dict[str, TokenValue]) -> bool:
    return (
        criterion.type == "token"
        and criterion.modifier is None
        and not criterion.chain
        and all(parsed[v].system and parsed[v].code for v in criterion.values)
    )


def _visible(
    connection: Connection,
    resource_type: str,
    ids: set[str],
    restriction: SearchRestriction | None,
) -> set[str]:
    """The ids the restriction's `hidden` test lets through (all of them without one)."""
    if restriction is None or restriction.hidden is None or not ids:
        return ids
    keys = [(resource_type, rid) for rid in sorted(ids)]
    return {v.resource_id for v in visible_versions(connection, keys, restriction)}
