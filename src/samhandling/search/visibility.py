"""Applying a restriction's ``hidden`` test, which only Python can evaluate."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import islice
from typing import Any

from sqlalchemy import Connection, select

from samhandling.fhir.outcome import FhirError, error
from samhandling.search.restriction import SearchRestriction
from samhandling.store.database import is_sqlite
from samhandling.store.policy_facts import read_facts
from samhandling.store.reader import driver_rows
from samhandling.store.records import StoredVersion
from samhandling.store.schema import compartment, resource
from samhandling.store.select_driver import select_rows

BATCH = 500
MAX_SCANNED = 30_000


class Judged(dict[tuple[str, str], dict[str, Any]]):
    """The resources the ``hidden`` test parsed to judge the visible ones, by key: the
    Bundle shows them without parsing their content a second time.

    ``exact`` (the default): parsed keeping the written form of decimals, as they are shown.
    False when the Bundle shows the stored bytes themselves (an HTTP answer with the
    resources unshaped, ``SearchQuery.stored_bytes``): the parsed resource is then only
    judged and named in the audit record, and orjson's plain parse does (no access decision
    reads the written form of a decimal; `json_codec.parse` also prints each resource again
    to find out whether it must).
    """

    def __init__(self, *, exact: bool = True) -> None:
        super().__init__()
        self.exact = exact

    def parse(self, version: StoredVersion) -> dict[str, Any]:
        """``version``'s resource, parsed as this map keeps them."""
        return version.resource() if self.exact else version.judged()


def visible_ids(
    connection: Connection,
    resource_type: str,
    stmt: Any,
    restriction: SearchRestriction,
    *,
    first: int | None = None,
) -> list[str]:
    """The ids selected by ``stmt`` whose resources the restriction does not hide (only the
    ``first`` of them, in the statement's order, when given)."""
    ids = [row[0] for row in select_rows(connection, stmt.limit(MAX_SCANNED + 1))]
    if len(ids) > MAX_SCANNED:
        message = "The search is too broad to be checked against your access; narrow it down"
        raise FhirError(400, error("too-costly", message))
    keys = [(resource_type, rid) for rid in ids]
    versions = visible_versions(connection, keys, restriction)
    return [version.resource_id for version in islice(versions, first)]


def visible_target_ids(
    connection: Connection,
    resource_type: str,
    rows: Any,
    stmt: Any,
    restriction: SearchRestriction,
) -> list[str]:
    """``visible_ids`` of a chain's targets or ``_has`` sources: ``stmt`` selects
    ``rows.c.resource_id`` of current resources, ``rows`` an alias of ``resource``. Up to
    ``BATCH`` candidates are read with their contents by the statement itself (a chain on a
    national ID names one patient: one statement where ids and then contents took two)."""
    found = select_rows(
        connection, stmt.with_only_columns(*_version_columns(rows)).limit(BATCH + 1)
    )
    versions = [_stored_version(row) for row in found]
    if len(versions) > BATCH:
        return visible_ids(connection, resource_type, stmt, restriction)
    return [v.resource_id for v in versions if not restriction.is_hidden(_judged(v, restriction))]


def visible_versions(
    connection: Connection,
    keys: Iterable[tuple[str, str]],
    restriction: SearchRestriction,
    parsed: Judged | None = None,
    read: dict[tuple[str, str], StoredVersion] | None = None,
) -> Iterator[StoredVersion]:
    """Current versions of ``keys`` in order, without deleted and hidden ones.

    With ``parsed``, the resources the ``hidden`` test parsed to judge the visible versions
    go into it by key: the Bundle shows them without parsing their content a second time.
    Without it the versions are only judged (``StoredVersion.judged``). ``read``: the current
    versions of (at least) ``keys``, read already (``read_current_versions``).
    """
    keys = list(keys)
    for start in range(0, len(keys), BATCH):
        batch = keys[start : start + BATCH]
        found = read if read is not None else read_current_versions(connection, batch)
        for key in batch:
            version = found.get(key)
            if version is None:
                continue
            if restriction.hidden is None:
                yield version
                continue
            whole = _judged(version, restriction, parsed)
            if not restriction.hidden(whole):
                if parsed is not None:
                    parsed[key] = whole
                yield version


def _judged(
    version: StoredVersion, restriction: SearchRestriction, parsed: Judged | None = None
) -> dict[str, Any]:
    """What the restriction judges of ``version``: the resource as ``parsed`` keeps them
    when it shows them parsed; else its policy facts when they keep every element the
    restriction reads of its type, else its content, parsed plainly (``StoredVersion.judged``)."""
    if parsed is not None and parsed.exact:
        return version.resource()
    return _from_facts(version, restriction) or version.judged()


def _from_facts(version: StoredVersion, restriction: SearchRestriction) -> dict[str, Any] | None:
    """The pruned copy of ``version``'s facts, or None: no facts (a row written before
    them), a restriction that may read any element of the type, or one that reads an
    element the facts' writer did not keep."""
    if version.facts is None or restriction.reads is None:
        return None
    needed = restriction.reads(version.resource_type)
    if needed is None:
        return None
    kept, pruned = read_facts(version.resource_type, version.facts)
    return pruned if kept is not None and needed.issubset(kept) else None


def read_current_versions(
    connection: Connection, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], StoredVersion]:
    """Current, not deleted versions of ``keys``, in one query whatever their types.

    The keys are asked type by type (``resource_type = T AND resource_id IN (…)``):
    PostgreSQL reads those with one scan of the primary key over the id list, where a list
    of (type, id) pairs is planned as one index scan per pair, OR-ed (a page of 63 documents
    read in 2.2 ms against 1.0 ms, most of the difference planning).

    Every search reads its page (and the matches it judges) here, so the statement is
    written once per number of types and run through the driver: building, caching and
    compiling it as an expression with a parameter per id took 1.3 ms of CPU for 51
    Observations, the driver's statement 0.4 ms (on PostgreSQL one array per type, so the
    statement's text does not grow with the page either).
    """
    if not keys:
        return {}
    by_type: dict[str, list[str]] = {}
    for resource_type, resource_id in keys:
        by_type.setdefault(resource_type, []).append(resource_id)
    params: tuple[Any, ...]
    if is_sqlite(connection):
        statement = _sqlite_current(tuple(len(ids) for ids in by_type.values()))
        params = tuple(p for t, ids in by_type.items() for p in (t, *ids))
    else:
        statement = _postgres_current(len(by_type))
        params = tuple(p for t, ids in by_type.items() for p in (t, ids))
    versions = (_stored_version(row) for row in driver_rows(connection, statement, params))
    return {(v.resource_type, v.resource_id): v for v in versions}


_COLUMNS = (
    "resource_type", "resource_id", "version_id", "last_updated_us", "tx_id", "content", "facts",
)  # fmt: skip
_CURRENT = f"SELECT {', '.join(_COLUMNS)} FROM {resource.name} WHERE ({{}}) AND NOT deleted"


@lru_cache(maxsize=64)
def _postgres_current(types: int) -> str:
    """The current versions of `types` resource types' id lists (an array per type)."""
    return _CURRENT.format(" OR ".join(["(resource_type = %s AND resource_id = ANY(%s))"] * types))


@lru_cache(maxsize=512)
def _sqlite_current(sizes: tuple[int, ...]) -> str:
    """The current versions of one id list per type, of these `sizes` (SQLite has no
    arrays; `type = … AND id IN (…)` per type, not `(type, id) IN (VALUES …)`: SQLite plans
    the row-value list as a scan of the whole resource table, with or without statistics)."""
    per_type = (f"(resource_type = ? AND resource_id IN ({', '.join('?' * n)}))" for n in sizes)
    return _CURRENT.format(" OR ".join(per_type))


def _version_columns(rows: Any) -> tuple[Any, ...]:
    return tuple(rows.c[name] for name in _COLUMNS)


def _stored_version(row: Any) -> StoredVersion:
    """A current, not deleted version from a row of ``_version_columns``."""
    return StoredVersion(row[0], row[1], row[2], row[3], row[4], False, row[5], facts=row[6])


def allowed_keys(
    connection: Connection, keys: list[tuple[str, str]], restriction: SearchRestriction
) -> list[tuple[str, str]]:
    """``keys`` inside the restriction's patient compartments (all of them when unset)."""
    patients = restriction.patient_ids
    if patients is None or not keys:
        return keys
    allowed = {k for k in keys if k[0] == "Patient" and k[1] in patients}
    others = [k for k in keys if k[0] != "Patient"]
    for start in range(0, len(others), BATCH):
        batch = others[start : start + BATCH]
        stmt = select(compartment.c.resource_type, compartment.c.resource_id).where(
            compartment.c.patient_id.in_(sorted(patients)),
            compartment.c.resource_id.in_(sorted({rid for _, rid in batch})),
        )
        wanted = set(batch)
        allowed.update(k for k in ((t, i) for t, i in connection.execute(stmt)) if k in wanted)
    return [k for k in keys if k in allowed]
