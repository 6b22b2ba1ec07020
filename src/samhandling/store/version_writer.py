"""Writing new versions of resources inside one open write transaction.

One call writes everything a change consists of, in the caller's transaction: the current
row, the version row, the index rows of the new current version, the compartment rows and
the outbox event (DESIGN.md decisions 2, 4 and 5). Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from samhandling.access_guard import OPEN_ACCESS, AccessGuard, WriteNote
from samhandling.fhir import json_codec
from samhandling.fhir.compartment import patient_compartment_ids
from samhandling.fhir.indexing.values import ResourceIndex, extract_index_values
from samhandling.fhir.instants import format_instant, now_us
from samhandling.store import current_rows
from samhandling.store.database import is_sqlite
from samhandling.store.index_buffer import READS_CURRENT_ROWS, IndexBuffer
from samhandling.store.index_rows import columns as index_columns
from samhandling.store.index_rows import index_rows
from samhandling.store.loop_statements import DriverStatement
from samhandling.store.patient_identity import maintain_claims
from samhandling.store.policy_facts import facts_of
from samhandling.store.reader import current_version
from samhandling.store.records import StoredVersion
from samhandling.store.schema import (
    INDEX_TABLES,
    RESOURCE_ROW,
    SHARDLESS,
    compartment,
    outbox,
    resource,
    resource_version,
)
from samhandling.store.sqlite_driver import run_many

if TYPE_CHECKING:  # a type only: the store never runs the rules, it carries them
    from samhandling.interactions.write_rules import WriteRule


_READS_CURRENT = {READS_CURRENT_ROWS: True}
_CURRENT_COLUMNS = current_rows.CURRENT_COLUMNS  # the order of the queued rows' tuples
# PostgreSQL runs these on the driver, prepared (loop_statements), and an update's others
# as one statement (current_rows.replace_current): through SQLAlchemy they cost a fifth of
# an update's server CPU, each round trip a tenth (issue 24). SQLite keeps
# SQLAlchemy's (and sqlite_driver's) path.
_DRIVER_NEW_TRANSACTION = DriverStatement(current_rows.NEW_TRANSACTION)
_DRIVER_CURRENT_LOCKED = DriverStatement(current_rows.CURRENT_LOCKED)
_DRIVER_INDEX_DELETE = DriverStatement(current_rows.INDEX_DELETE_IN_ONE)
_SELECTED = tuple(str(column.key) for column in current_rows.CURRENT.selected_columns)
_VERSION_COLUMNS = (*_CURRENT_COLUMNS[:-1], "method")  # no `facts`: current rows only
_COMPARTMENT_COLUMNS = ("patient_id", "resource_type", "resource_id")
_OUTBOX_COLUMNS = (
    "resource_type",
    "resource_id",
    "tx_id",
    "version_id",
    "patient_id",
    "event",
    "created_at_us",
)


class SearchParameterWrites:
    """How many SearchParameter versions this process has written (searches compare it to
    know when to reload the custom search parameters; see `search.custom_parameters`)."""

    count = 0


class VersionWriter:
    """Writes versions within the transaction of `connection`; one tx id for all of them.

    It carries, for the interactions that write through it, the caller's access `guard` and
    the services' write `rules` (`interactions.write_rules`): whoever opens a write decides
    both once, so no interaction can forget them.

    `bulk_creates=True` (bulk loads into a database no one else writes, e.g. the benchmark
    population) queues the current row of a create with the other rows, for one COPY per
    table, and reads current rows without locking them (parallel loaders would otherwise
    lock shared rows, such as an author Organization the write rules look up, in their
    own orders and deadlock); a concurrent create of the same id is then detected only
    when the buffer flushes (the unique key still refuses it, failing the transaction).

    `queued_creates=True` (a batch Bundle's chunk) queues the current row of a create only
    when its id is one the server has just assigned (`write(…, new_id=True)`): a fresh UUID
    that no one else can be creating, so the unique key has nothing to catch at the row's
    own insert and one COPY at commit replaces an INSERT round trip per create. Reads of
    current rows insert the queued ones first (`index_buffer.READS_CURRENT_ROWS`); a
    client-chosen id (update-as-create) is inserted at once as without the flag.
    """

    def __init__(
        self,
        connection: Connection,
        guard: AccessGuard = OPEN_ACCESS,
        rules: Sequence[WriteRule] = (),
        *,
        bulk_creates: bool = False,
        queued_creates: bool = False,
    ) -> None:
        self.connection = connection
        self.guard = guard
        self.rules = tuple(rules)
        self.bulk_creates = bulk_creates
        self.queued_creates = queued_creates
        self._tx_id: int | None = None
        self._last_us = 0
        self._buffer: IndexBuffer | None = None
        #: every version written through this writer, in order (a batch Bundle reads what
        #: its earlier entries wrote; it forgets those of an entry rolled back)
        self.written: list[StoredVersion] = []

    @property
    def locks_rows(self) -> bool:
        """Whether reads of current rows lock them (FOR UPDATE; SQLite locks the database)."""
        return not self.bulk_creates and not is_sqlite(self.connection)

    @property
    def buffer(self) -> IndexBuffer:
        """The bulk buffer of the transaction's version, outbox, index and compartment rows
        (`IndexBuffer.of`, kept while its transaction lasts: a write asks ten times)."""
        found = self._buffer
        if found is None or found.closed:
            found = self._buffer = IndexBuffer.of(self.connection)
        return found

    @property
    def tx_id(self) -> int:
        if self._tx_id is None:
            at = {"committed_at_us": now_us()}
            if is_sqlite(self.connection):
                self._tx_id = int(
                    self.connection.execute(current_rows.NEW_TRANSACTION, at).scalar_one()
                )
            else:
                row = _DRIVER_NEW_TRANSACTION.run(self.connection, at)
                assert row is not None  # RETURNING gives the one row inserted
                self._tx_id = int(row[0])
        return self._tx_id

    def _timestamp(self) -> int:
        # Strictly increasing within this transaction, so versions never share an instant.
        self._last_us = max(now_us(), self._last_us + 1)
        return self._last_us

    def current(self, resource_type: str, resource_id: str) -> StoredVersion | None:
        """The current version, locked against concurrent writers until commit."""
        stmt = current_rows.CURRENT_LOCKED if self.locks_rows else current_rows.CURRENT
        # It reads only the current row: the queued index rows need not be inserted first
        # (only queued current rows are: index_buffer.READS_CURRENT_ROWS).
        key = {"key_type": resource_type, "key_id": resource_id}
        if self.locks_rows:  # PostgreSQL: on the driver, flushing as the option would
            self.buffer.flush_current_rows()
            got = _DRIVER_CURRENT_LOCKED.run(self.connection, key)
            return None if got is None else _stored(resource_type, _selected(got))
        row = (
            self.connection.execute(stmt, key, execution_options=_READS_CURRENT).mappings().first()
        )
        return None if row is None else _stored(resource_type, row)

    def current_many(self, resource_type: str, resource_ids: list[str]) -> dict[str, StoredVersion]:
        """The current versions of several resources of one type, by id, locked as
        `current` locks one (in id order, so two writers never wait on each other in a
        circle); ids never written are absent."""
        if not resource_ids:
            return {}
        stmt = (
            select(*RESOURCE_ROW)
            .where(
                resource.c.resource_type == resource_type,
                resource.c.resource_id.in_(sorted(set(resource_ids))),
            )
            .order_by(resource.c.resource_id)
        )
        if self.locks_rows:
            stmt = stmt.with_for_update()
        options = {READS_CURRENT_ROWS: True}
        rows = self.connection.execute(stmt, execution_options=options).mappings()
        return {row["resource_id"]: _stored(resource_type, row) for row in rows}

    def write(
        self,
        resource_type: str,
        resource_id: str,
        body: dict[str, Any] | None,
        *,
        method: str,
        previous: StoredVersion | None,
        note: WriteNote | None = None,
        new_id: bool = False,
        before: Callable[[], dict[str, Any] | None] | None = None,
        decided: bool = False,
    ) -> StoredVersion:
        """Write `body` (None = delete) as the next version after `previous`.

        Every write of every interaction passes here, so the access guard is asked here:
        a transaction entry cannot bypass the policy. `note` (why the write is made) goes
        to the guard's audit record; `new_id` says the server has just assigned the id of
        this create (see `queued_creates`). `before` gives the content of `previous` as
        the caller has parsed it already (None for none or a deletion: it is parsed once);
        `decided` says this writer's guard has decided on that content and on `body` as
        they are (the interactions' write rules ask it first: `crud._checked`).
        """
        prior = _Previous(previous, before)
        if self.guard.inspects_resources and not decided:
            self.guard.check_write(method, prior.content(), body)
        version_id = previous.version_id + 1 if previous else 1
        if resource_type == "SearchParameter":
            SearchParameterWrites.count += 1
        last_updated = self._timestamp()
        owner = (resource_type, resource_id)
        content, facts, index, patients = self._prepare(body, owner, version_id, last_updated)
        if body is None and (deleted := prior.content()) is not None:
            patients = patient_compartment_ids(deleted)  # its partition, its audit record
        current = self._store_current(
            (*owner, *_shards(patients, deleting=body is None), version_id),
            (last_updated, body is None, content, facts),
            replacing=previous is not None,
            new_id=new_id,
        )
        self._write_rows(current, method, index, patients)
        if resource_type == "Patient":  # one person, one record (store/patient_identity.py)
            maintain_claims(self.connection, resource_id, prior.content(), body)
        self._write_outbox(current, method)
        written = StoredVersion(
            resource_type, resource_id, version_id, last_updated, self.tx_id,
            body is None, content, method, index=index,
        )  # fmt: skip
        self.guard.after_write(self.connection, written, patients, note)
        self.written.append(written)
        return written

    def _store_current(
        self, key: tuple[Any, ...], rest: tuple[Any, ...], *, replacing: bool, new_id: bool
    ) -> tuple[Any, ...]:
        """Insert, queue or replace the current row (`key`: its values up to `version_id`,
        `rest` those after `tx_id`), removing a replaced version's index rows; the row's
        values in `_CURRENT_COLUMNS` order."""
        if replacing and not is_sqlite(self.connection):
            return (*key, self._replace(key, rest), *rest)
        current = (*key, self.tx_id, *rest)
        queued = not replacing and (self.bulk_creates or (new_id and self.queued_creates))
        self._write_current(current, replace=replacing, queued=queued)
        if replacing:
            self._remove_index(key[0], key[1])
        return current

    def _write_rows(
        self,
        current: tuple[Any, ...],
        method: str,
        index: ResourceIndex | None,
        patients: frozenset[str],
    ) -> None:
        """The version row of `current` (its current row's values) and, unless it is a
        deletion, its index and compartment rows."""
        version_row = (*current[:-1], method)  # `facts` is the current row's last column
        self.buffer.add_rows(resource_version, _VERSION_COLUMNS, current[:2], [version_row])
        if index is not None:
            key = {"resource_type": current[0], "resource_id": current[1]}
            self._write_index(key, index, current[2], patients)

    def reindex(self, resource_type: str, resource_id: str, body: dict[str, Any]) -> None:
        """Recompute the index and compartment rows and the policy facts of a stored
        current version."""
        index = extract_index_values(body)
        patients = patient_compartment_ids(body, index)
        key = {"resource_type": resource_type, "resource_id": resource_id}
        self._remove_index(resource_type, resource_id)
        self._write_index(key, index, min(patients) if patients else None, patients)
        facts: dict[str, Any] = {"key_type": resource_type, "key_id": resource_id}
        facts["facts"] = facts_of(resource_type, body, len(json_codec.dump(body)))
        self.connection.execute(current_rows.UPDATE_FACTS, facts)

    @staticmethod
    def _prepare(
        body: dict[str, Any] | None, key: tuple[str, str], version_id: int, last_updated: int
    ) -> tuple[bytes | None, bytes | None, ResourceIndex | None, frozenset[str]]:
        """The stored JSON (meta filled in), its policy facts, its index values and its
        patient compartments."""
        if body is None:
            return None, None, None, frozenset()
        body["id"] = key[1]
        meta = body.setdefault("meta", {})
        meta["versionId"] = str(version_id)
        meta["lastUpdated"] = format_instant(last_updated)
        index = extract_index_values(body)
        patients = patient_compartment_ids(body, index)
        content = json_codec.dump(body)
        return content, facts_of(key[0], body, len(content)), index, patients

    def _replace(self, key: tuple[Any, ...], rest: tuple[Any, ...]) -> int:
        """PostgreSQL: the current row replaced and the index rows removed in one statement,
        with the transaction's id taken by it if it has none yet (`current_rows`); the id.
        `key`: the row's values up to `version_id`, `rest` those after `tx_id`."""
        buffer = self.buffer
        buffer.flush_current_rows()  # the row to update may still be queued
        buffer.discard((key[0], key[1]))  # the index rows queued for it are stale
        row = dict(zip(_CURRENT_COLUMNS, (*key, None, *rest), strict=True))
        del row["tx_id"]
        self._tx_id = current_rows.replace_current(self.connection, row, self._tx_id)
        return self._tx_id

    def _write_current(self, current: tuple[Any, ...], *, replace: bool, queued: bool) -> None:
        """The current row (values of `_CURRENT_COLUMNS`): queued, inserted, or updated
        (SQLite's; PostgreSQL's is `_replace`)."""
        if queued:
            self.buffer.add_rows(resource, _CURRENT_COLUMNS, current[:2], [current])
            return
        values = dict(zip(_CURRENT_COLUMNS, current, strict=True))
        if replace:
            self.buffer.flush_current_rows()  # the row to update may still be queued
            del values["resource_type"], values["resource_id"]
            where = {"key_type": current[0], "key_id": current[1]}
            self.connection.execute(current_rows.UPDATE_CURRENT, {**values, **where})
        else:
            self.connection.execute(current_rows.INSERT_CURRENT, values)

    def _remove_index(self, resource_type: str, resource_id: str) -> None:
        """Delete the resource's index and compartment rows: on PostgreSQL in one
        statement (a DELETE per table as data-modifying CTEs), one round trip instead of
        ten; SQLite runs in the process, where one statement per table costs nothing more."""
        self.buffer.discard((resource_type, resource_id))
        key = {"resource_type": resource_type, "resource_id": resource_id}
        if is_sqlite(self.connection):
            for statement in current_rows.SQLITE_INDEX_DELETES:
                run_many(self.connection, statement, [(resource_type, resource_id)])
            return
        _DRIVER_INDEX_DELETE.run(self.connection, key)

    def _write_index(
        self,
        key: dict[str, str],
        index: ResourceIndex,
        shard: str | None,
        patients: frozenset[str],
    ) -> None:
        resource_type, resource_id = key["resource_type"], key["resource_id"]
        owner = (resource_type, resource_id)
        base = (resource_type, resource_id, shard, shard or SHARDLESS)  # BASE_COLUMNS
        for kind, rows in index_rows(index, base).items():
            self.buffer.add_rows(INDEX_TABLES[kind], index_columns(kind), owner, rows)
        if patients:
            rows = [(p, resource_type, resource_id) for p in sorted(patients)]
            self.buffer.add_rows(compartment, _COMPARTMENT_COLUMNS, owner, rows)

    def _write_outbox(self, current: tuple[Any, ...], method: str) -> None:
        """The outbox event of the version `current` (its current row's values)."""
        rt, rid, shard, _, version_id, tx_id, at_us = current[:7]
        row = (rt, rid, tx_id, version_id, shard, method, at_us)
        self.buffer.add_rows(outbox, _OUTBOX_COLUMNS, (rt, rid), [row])


def _shards(patients: frozenset[str], *, deleting: bool) -> tuple[str | None, str]:
    """A version's `patient_id` (None for a deletion: it leaves the compartment) and its
    shard key (a deletion stays on its patient's partition, store/layout.py)."""
    first = min(patients) if patients else None
    return (None if deleting else first), (first or SHARDLESS)


class _Previous:
    """The content of the version a write replaces, parsed at most once: by the caller
    (`parsed`, e.g. the write rules' `WriteContext.before`) or here, when first asked."""

    __slots__ = ("_asked", "_content", "_parsed", "_version")

    def __init__(
        self, version: StoredVersion | None, parsed: Callable[[], dict[str, Any] | None] | None
    ) -> None:
        self._version = version
        self._parsed = parsed
        self._asked = False
        self._content: dict[str, Any] | None = None

    def content(self) -> dict[str, Any] | None:
        """The previous content, None when there is none or it was a deletion."""
        if not self._asked:
            self._asked = True
            version = self._version
            if version is not None and not version.deleted:
                self._content = self._parsed() if self._parsed else version.resource()
        return self._content


def _selected(row: tuple[Any, ...]) -> dict[str, Any]:
    """A current row from the driver, by column (as SQLAlchemy's mapping gives it)."""
    return dict(zip(_SELECTED, row, strict=True))


def _stored(resource_type: str, row: Any) -> StoredVersion:
    """The current version of a `resource` row read with its lock (a mapping)."""
    return current_version(resource_type, row["resource_id"], row)
