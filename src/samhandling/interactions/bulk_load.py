"""Creating many resources at their ids, in bulk, in a database no one else writes yet: a
migration's `samhandling import --bulk` and the benchmark's population loader.

A transaction of PUTs by id first reads each current version (`SELECT … FOR UPDATE`), and
every read makes the index buffer insert its queued rows: one COPY per index table per
entry. Into a new instance each of those PUTs is a create, so here each resource is created
at its id (`crud.create`: validated, the services' write rules applied, as a trusted
loader, the guard `OPEN_ACCESS` unless given) through `VersionWriter(…, bulk_creates=True)`:
the current rows and the index rows of the whole list go in with one COPY per table, and
current rows are read without row locks (see `VersionWriter`).

One call is one transaction: a resource that fails refuses the list and nothing of it is
written. **A bulk load never overwrites**: a list naming an id that is already stored (or
an id twice) is refused whole with `AlreadyStored` (409), checked with one read per type
before anything is written; an id another loader creates at the same moment is refused by
the unique key when the rows go in (also `AlreadyStored`). A transaction PostgreSQL aborts
as a deadlock (parallel loaders reach shared rows, such as a document's author
Organization that a write rule reads, in their own orders) wrote nothing and is run again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from samhandling.access_guard import OPEN_ACCESS, AccessGuard
from samhandling.fhir import json_codec
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import crud
from samhandling.interactions.transactions import write_transaction
from samhandling.interactions.write_rules import WriteRule
from samhandling.store.version_writer import VersionWriter

DEADLOCK_RETRIES = 10
SHOWN_IDS = 5

#: written first within a list, as a transaction Bundle does (`bundle.CONTENT_TYPES`):
#: a DocumentReference's write rules check its Binary's bytes
CONTENT_TYPES = frozenset({"Binary"})

Key = tuple[str, str]


class AlreadyStored(FhirError):
    """A bulk load refused: some of its ids are stored already (or named twice)."""

    def __init__(self, keys: Sequence[Key], why: str) -> None:
        self.keys, self.why = list(keys), why
        shown = ", ".join(f"{t}/{i}" for t, i in self.keys[:SHOWN_IDS])
        more = f" and {len(self.keys) - SHOWN_IDS} more" if len(self.keys) > SHOWN_IDS else ""
        message = f"{shown}{more} {why}: a bulk load only creates, it never overwrites"
        super().__init__(409, error("duplicate", message))

    def __reduce__(self) -> tuple[type[AlreadyStored], tuple[list[Key], str]]:
        return AlreadyStored, (self.keys, self.why)  # raised in a worker process, told here


def create_all(
    engine: Engine,
    resources: Sequence[dict[str, Any]],
    rules: Sequence[WriteRule],
    *,
    guard: AccessGuard = OPEN_ACCESS,
) -> Counter[str]:
    """Create every resource (at its `id`; a new id when it has none) in one transaction;
    the count per type. `resources` are left as they were (each attempt works on a copy:
    write rules amend what they store). Raises FhirError (a resource refused),
    `AlreadyStored`, or the database's error after `DEADLOCK_RETRIES` deadlocks."""
    pristine = json_codec.dump(list(resources))
    for attempt in range(DEADLOCK_RETRIES):
        try:
            return _create_all_once(engine, json_codec.parse(pristine), rules, guard)
        except OperationalError as failure:
            if "deadlock detected" not in str(failure) or attempt == DEADLOCK_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _create_all_once(
    engine: Engine, resources: list[Any], rules: Sequence[WriteRule], guard: AccessGuard
) -> Counter[str]:
    counts: Counter[str] = Counter()
    keys = [_key(resource) for resource in resources]
    try:
        with write_transaction(engine) as connection:
            versions = VersionWriter(connection, guard, rules, bulk_creates=True)
            _refuse_stored(versions, [key for key in keys if key is not None])
            ordered = sorted(resources, key=_content_first)
            for resource in ordered:
                rid = resource.get("id") if isinstance(resource, dict) else None
                result = crud.create(versions, resource, resource_id=rid or None)
                counts[result.version.resource_type] += 1
    except IntegrityError as clash:
        why = "were created at the same time by another loader"
        raise AlreadyStored([k for k in keys if k is not None], why) from clash
    return counts


def _refuse_stored(versions: VersionWriter, keys: list[Key]) -> None:
    """Refuse the list when it names an id twice or one that is stored (one read per type,
    without locks: `bulk_creates`)."""
    twice = sorted(key for key, count in Counter(keys).items() if count > 1)
    if twice:
        raise AlreadyStored(twice, "are in the list more than once")
    by_type: dict[str, list[str]] = {}
    for resource_type, resource_id in keys:
        by_type.setdefault(resource_type, []).append(resource_id)
    stored = [
        (resource_type, found)
        for resource_type, ids in sorted(by_type.items())
        for found in sorted(versions.current_many(resource_type, ids))
    ]
    if stored:
        raise AlreadyStored(stored, "are stored already")


def _key(resource: Any) -> Key | None:
    """(type, id) of a resource that names both as strings."""
    if not isinstance(resource, dict):
        return None
    rtype, rid = resource.get("resourceType"), resource.get("id")
    return (rtype, rid) if isinstance(rtype, str) and isinstance(rid, str) and rid else None


def _content_first(resource: Any) -> int:
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    return 0 if rtype in CONTENT_TYPES else 1
