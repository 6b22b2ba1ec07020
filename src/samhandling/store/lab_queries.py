"""Named queries for lab results: the latest results per code and a code's values over time.

Both work on one patient's Observations through the compartment table and the search index
(the `code`, `category` and `date` rows), on SQLite and PostgreSQL alike, and hand back the
current content of each result with the time it is indexed under; the caller judges each
result under its access guard (a citizen's release delay and a clinician's block are rules
on the content). Deleted results are never returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    true,
)

from samhandling.fhir import json_codec
from samhandling.store.database import is_sqlite
from samhandling.store.schema import compartment, index_date, index_token, resource

Code = tuple[str | None, str]  # (system or None for any system, code)
OBSERVATION = "Observation"
_NO_TIME = -(1 << 62)  # sorts results without an effective time last (newest first)


@dataclass(frozen=True)
class LabResultRow:
    """One result: the (system, code) it was found under, when it is effective, its content."""

    system: str | None
    code: str
    effective_us: int | None
    content: dict[str, Any]


def _effective_us() -> Any:
    d = index_date.c
    return (
        select(func.min(d.low_us))
        .where(
            d.resource_type == OBSERVATION,
            d.resource_id == compartment.c.resource_id,
            d.param == "date",
        )
        .scalar_subquery()
    )


def _token_matches(codes: Sequence[Code]) -> ColumnElement[bool]:
    t = index_token.c
    if not codes:
        return t.code.is_not(None)
    return or_(*(and_(t.code == c, t.system == s) if s else t.code == c for s, c in codes))


def _has_category(category: Code | None) -> ColumnElement[bool]:
    if category is None:
        return true()
    t = index_token.alias("category_row")
    system, code = category
    return exists().where(
        t.c.resource_type == OBSERVATION,
        t.c.resource_id == compartment.c.resource_id,
        t.c.param == "category",
        t.c.code == code,
        *((t.c.system == system,) if system else ()),
    )


def plan_for_the_patient(connection: Connection) -> None:
    """Plan the lab queries for their values (PostgreSQL), for this transaction.

    psycopg prepares a statement after five executions and PostgreSQL may then switch to a
    generic plan that does not know the patient: for `code_series` it drove from every
    patient's results of the code (1.7 s instead of 0.4 ms at 11,000 patients with lab
    histories, bench/RESULTS.md). As `search.sql.custom_plans` does for conditional
    criteria (searches keep their statements unprepared instead: `search/plans.py`)."""
    if not is_sqlite(connection):
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


def _patient_results(patient_id: str) -> Select[Any]:
    c, r = compartment.c, resource.c
    live = and_(r.resource_type == c.resource_type, r.resource_id == c.resource_id)
    return (
        select()
        .select_from(compartment)
        .join(resource, live)
        .where(c.patient_id == patient_id, c.resource_type == OBSERVATION, r.deleted == false())
    )


def latest_per_code(
    connection: Connection,
    patient_id: str,
    *,
    per_code: int,
    codes: Sequence[Code] = (),
    category: Code | None = None,
) -> list[LabResultRow]:
    """A patient's newest `per_code` results of each code (all codes, or those in `codes`),
    optionally of one category; ordered by system, code, newest first. A result with
    several codings is found under each."""
    t = index_token.c
    effective = _effective_us()
    rank = func.row_number().over(
        partition_by=(func.coalesce(t.system, ""), t.code),
        order_by=(func.coalesce(effective, _NO_TIME).desc(), compartment.c.resource_id),
    )
    ranked = (
        _patient_results(patient_id)
        .add_columns(t.system, t.code, effective.label("effective_us"), resource.c.content)
        .add_columns(rank.label("position"))
        .join(
            index_token,
            and_(t.resource_type == OBSERVATION, t.resource_id == compartment.c.resource_id),
        )
        .where(t.param == "code", _token_matches(codes), _has_category(category))
        .subquery()
    )
    stmt = (
        select(ranked.c.system, ranked.c.code, ranked.c.effective_us, ranked.c.content)
        .where(ranked.c.position <= per_code)
        .order_by(ranked.c.system, ranked.c.code, ranked.c.position)
    )
    plan_for_the_patient(connection)
    return [_row(*found) for found in connection.execute(stmt)]


def code_series(
    connection: Connection,
    patient_id: str,
    code: Code,
    *,
    start_us: int | None = None,
    end_us: int | None = None,
    limit: int = 1000,
) -> list[LabResultRow]:
    """A patient's results of one code whose effective time starts in [start, end), oldest
    first (results without an effective time are left out), at most `limit`."""
    d, t = index_date.c, index_token.c
    has_code = exists().where(
        t.resource_type == OBSERVATION,
        t.resource_id == compartment.c.resource_id,
        t.param == "code",
        _token_matches([code]),
    )
    in_range = [d.low_us >= start_us] if start_us is not None else []
    in_range += [d.low_us < end_us] if end_us is not None else []
    stmt = (
        _patient_results(patient_id)
        .add_columns(d.low_us, resource.c.content)
        .join(
            index_date,
            and_(d.resource_type == OBSERVATION, d.resource_id == compartment.c.resource_id),
        )
        .where(d.param == "date", has_code, *in_range)
        .order_by(d.low_us, compartment.c.resource_id)
        .limit(limit)
    )
    system, value = code
    plan_for_the_patient(connection)
    return [_row(system, value, low, content) for low, content in connection.execute(stmt)]


def _row(system: str | None, code: str, effective: int | None, content: bytes) -> LabResultRow:
    return LabResultRow(system, code, effective, json_codec.parse(content))
