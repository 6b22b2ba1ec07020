"""Batch Bundles (R4 §3.1.0.11.1): every entry succeeds or fails on its own.

"For a batch, there SHALL be no interdependencies between the different entries in the
Bundle that cause change on the server": the entries run in Bundle order, and each sees
what the ones before it wrote, as if they ran one after another.

They run in one database transaction per chunk of `CHUNK_ENTRIES` entries. A chunk first
runs without savepoints (optimistically: a measurement system's batches are almost always
all good); the first entry that fails rolls the whole chunk back, which runs again in
pieces of at most `CAREFUL_ENTRIES`, one transaction each, every entry inside a savepoint
of its own (`database.savepoint`). There an entry that fails is rolled back to its
savepoint — its rows, its queued index rows and its audit records with it — answered by
its own error naming it, audited as refused (`AccessGuard.after_refusal`, naming the
patient it aimed at when known), and the next entry goes on. A read or search entry is
audited as the plain GET would be (`entry_actions`), in the chunk's transaction too. So a
chunk costs one commit and one COPY per index table, not one per entry. The answers are
the same either way; a good chunk saves two round trips per entry (`SAVEPOINT`,
`RELEASE`), a chunk with a bad entry costs its entries before it twice.

Chunks keep the locks an entry takes (its conditional-create lock, the rows it updates)
from being held for a whole large Bundle; the careful pieces keep a transaction's
subtransactions under PostgreSQL's per-backend cache of 64 (beyond it every other
session's snapshot must look subtransactions up in `pg_subtrans`). A good chunk of a
hundred measurements is one transaction: its commit, lock statement, early search and
COPY exchange are paid once per hundred, not per fifty (bench/RESULTS.md, "A hundred
entries per chunk"). A chunk's conditional-write locks are taken when it
begins, in one statement and one order, so two batches naming the same criteria in
different orders cannot deadlock on them; a deadlock or serialization failure on anything
else runs the chunk again (at most `ATTEMPTS` times), and then answers its entries 503.

A conditional create whose criteria are one `identifier=system|value` is searched when the
chunk begins, before its first write (the search would otherwise insert the queued index
rows first, `store/index_buffer.py`); that answer is used only while no entry kept before
it may have changed it (`lookups.AnsweredCriteria`), else the entry searches at its turn
and sees every earlier entry's write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from samhandling.access_guard import AccessGuard
from samhandling.fhir.json_codec import clone_json, dump_plain
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.batch_answers import AnsweredCriteria
from samhandling.interactions.bundle_entries import BundleEntry, naming_entry, status_line
from samhandling.interactions.bundle_refs import ReferenceResolver, conditional_writes
from samhandling.interactions.conditions import conditional_lock_key
from samhandling.interactions.entry_actions import EntryContext, run_entry
from samhandling.interactions.write_rules import WriteRule
from samhandling.store.advisory_locks import lock_keys
from samhandling.store.database import is_unique_violation, savepoint, write_connection
from samhandling.store.version_writer import VersionWriter

CHUNK_ENTRIES = 100  # a chunk run without savepoints
CAREFUL_ENTRIES = 50  # a rerun with a savepoint per entry: under the 64 cached subxacts
ATTEMPTS = 3
_RETRIED_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock, serialization failure
_INTERACTIONS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass
class BatchRequest:
    """What every chunk of one batch Bundle shares."""

    base_url: str
    representation: bool
    guard: AccessGuard
    rules: Sequence[WriteRule]


def run_batch(engine: Engine, entries: list[BundleEntry], request: BatchRequest) -> list[Any]:
    """The response entries of a batch, in Bundle order."""
    responses: list[Any] = []
    for start in range(0, len(entries), CHUNK_ENTRIES):
        responses.extend(_chunk(engine, entries[start : start + CHUNK_ENTRIES], request))
    return responses


def _chunk(engine: Engine, entries: list[BundleEntry], request: BatchRequest) -> list[Any]:
    """A chunk's responses: run without savepoints; once an entry fails that way, again
    from the bodies as sent, in careful pieces with a savepoint per entry."""
    sent = _AsSent.of(entries)
    try:
        return _attempts(engine, entries, sent, request, careful=False)
    except _EntryFailed:
        pass
    # An attempt rewrites references in the bodies it runs; a rerun starts from the bodies
    # as sent, not from a rolled-back attempt's ids.
    fresh = sent.entries()
    responses: list[Any] = []
    for start in range(0, len(fresh), CAREFUL_ENTRIES):
        piece = fresh[start : start + CAREFUL_ENTRIES]
        responses += _attempts(engine, piece, _AsSent.of(piece), request, careful=True)
    return responses


def _attempts(
    engine: Engine,
    entries: list[BundleEntry],
    sent: _AsSent,
    request: BatchRequest,
    *,
    careful: bool,
) -> list[Any]:
    """The entries run in one transaction, again after a deadlock or serialization failure
    (at most `ATTEMPTS` runs), then answered 503; `_EntryFailed` when not `careful`."""
    attempt = entries
    for _ in range(ATTEMPTS):
        try:
            with write_connection(engine) as connection:
                return _Chunk(connection, request, careful=careful).run(attempt)
        except DBAPIError as exc:
            if not _worth_rerunning(exc):
                raise
        attempt = sent.entries()
    with write_connection(engine) as connection:
        return [_refused(connection, request.guard, entry, _gave_up(entry)) for entry in entries]


class _EntryFailed(Exception):
    """An entry of a chunk run without savepoints failed: run the chunk again with them."""


def _worth_rerunning(exc: DBAPIError) -> bool:
    """A deadlock or serialization failure; or a unique key refusing a row when the chunk
    commits, which can only be a create's current row queued for the commit's COPY
    (`VersionWriter.queued_creates`; an entry's own statements fail inside the entry):
    its server-assigned id was taken after all, and a rerun assigns new ids."""
    return getattr(exc.orig, "sqlstate", None) in _RETRIED_SQLSTATES or is_unique_violation(exc)


@dataclass(frozen=True)
class _AsSent:
    """A chunk's entries as sent, for a rerun (rare: an entry failed, or a deadlock).

    Kept as the JSON text of their bodies (`json_codec.dump_plain`: one orjson call, in C)
    and parsed again only when a rerun needs them (≈ 1 µs an entry; a `clone_json` of every
    entry before every first attempt was ≈ 7.7 µs). The bodies are deep-copied up front only
    where that text would not give them back equal and of the same types (a `Decimal` of an
    exactly parsed body, a null)."""

    entries_as_sent: list[BundleEntry]
    text: bytes | None  # [[request, resource], …]; [request] where the resource is None
    copies: list[list[Any]] | None = None  # the same as lists, where there is no text

    @staticmethod
    def of(entries: list[BundleEntry]) -> _AsSent:
        bodies = [[e.request] if e.resource is None else [e.request, e.resource] for e in entries]
        text = dump_plain(bodies)
        return _AsSent(entries, text, clone_json(bodies) if text is None else None)

    def entries(self) -> list[BundleEntry]:
        """Fresh copies of the entries as sent (each attempt changes the ones it runs)."""
        bodies = orjson.loads(self.text) if self.text is not None else clone_json(self.copies)
        return [
            dataclasses.replace(entry, request=body[0], resource=body[1] if body[1:] else None)
            for entry, body in zip(self.entries_as_sent, bodies, strict=True)
        ]


def _gave_up(entry: BundleEntry) -> FhirError:
    message = f"Bundle.entry[{entry.index}]: concurrent writes kept conflicting; send it again"
    return FhirError(503, error("transient", message))


@dataclass
class _Chunk:
    connection: Connection
    request: BatchRequest
    careful: bool = True  # each entry in a savepoint (else a failure reruns the chunk)
    answers: AnsweredCriteria = field(default_factory=AnsweredCriteria)
    locked: frozenset[str] = frozenset()

    def run(self, entries: list[BundleEntry]) -> list[Any]:
        guard = self.request.guard
        writer = VersionWriter(self.connection, guard, self.request.rules, queued_creates=True)
        # The transaction's row is written before the first savepoint: an entry rolled
        # back must not take it with it (the writer keeps its id for the later entries).
        _ = writer.tx_id
        criteria = conditional_writes(entries, strict=False)
        lock_keys(self.connection, [conditional_lock_key(*key) for key in criteria])
        self.locked = frozenset(f"{rtype}?{query}" for rtype, query in criteria)
        self.answers.search_first(self.connection, guard, entries)
        return [self._entry(writer, entry) for entry in entries]

    def _entry(self, writer: VersionWriter, entry: BundleEntry) -> Any:
        kept = len(writer.written)
        if not self.careful:
            try:
                response = naming_entry(entry, self._run, writer, entry)
            except (FhirError, IntegrityError) as exc:
                raise _EntryFailed from exc  # nothing to roll back to: the chunk reruns
            self.answers.note_written(writer.written[kept:])
            return response
        since = writer.guard.mark()
        try:
            with savepoint(self.connection):
                response = naming_entry(entry, self._run, writer, entry)
        except FhirError as exc:
            del writer.written[kept:]
            return _refused(self.connection, writer.guard, entry, exc, since)
        except IntegrityError:  # a concurrent writer took the same new id first
            del writer.written[kept:]
            message = f"Bundle.entry[{entry.index}]: a concurrent write conflicted; retry"
            outcome = FhirError(409, error("conflict", message))
            return _refused(self.connection, writer.guard, entry, outcome, since)
        self.answers.note_written(writer.written[kept:])
        return response

    def _run(self, writer: VersionWriter, entry: BundleEntry) -> Any:
        answered = self.answers.valid_for(entry)
        resolver = ReferenceResolver(
            self.connection, writer.guard, answered=answered, locked=self.locked
        )
        resolver.assign_id(entry)
        if isinstance(entry.resource, dict):
            resolver.rewrite(entry.resource)  # one walk: conditional and urn:uuid references
        request = self.request
        context = EntryContext(writer, resolver, request.base_url, request.representation)
        return run_entry(context, entry)


def _refused(
    connection: Connection,
    guard: AccessGuard,
    entry: BundleEntry,
    exc: FhirError,
    since: object = None,
) -> dict[str, Any]:
    """The failed entry's response, its refusal audited in the chunk's transaction: with
    the patient its url names (`Patient/1…`) and, `since` the entry began, those of the
    resources the guard refused it and of the records it searched."""
    interaction = _INTERACTIONS.get(entry.method, "read" if len(entry.path) > 1 else "search")
    entity = (entry.resource_type, entry.path[1] if len(entry.path) > 1 else "")
    reason = "; ".join(i.diagnostics for i in exc.issues if i.diagnostics)
    named = frozenset({entity[1]}) if entity[0] == "Patient" and entity[1] else frozenset()
    guard.after_refusal(
        connection, interaction, entity, exc.status, reason, since=since, patients=named
    )
    return {"response": {"status": status_line(exc.status), "outcome": exc.outcome()}}
