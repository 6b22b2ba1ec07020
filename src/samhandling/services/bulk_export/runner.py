"""Running one export job: for each type, walk the snapshot in bounded batches and write
NDJSON files (split at a size limit), recording progress and renewing the job's lease after
each batch. A cancelled job stops at its next batch; a resumed job (its process died) skips
the types it finished and writes the others again from the start.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from samhandling.audit.trail import append_at_commit
from samhandling.fhir import json_codec
from samhandling.services.bulk_export.associated import (
    PROVENANCE,
    ProvenanceChoice,
    phases,
    walks_provenance,
)
from samhandling.services.bulk_export.audit_record import export_record
from samhandling.services.bulk_export.deidentify import Pseudonyms
from samhandling.services.bulk_export.files import (
    ExportFolders,
    file_name,
    temporary,
    write_messages,
)
from samhandling.services.bulk_export.shaping import Row, Shaping, withheld_from_systems
from samhandling.store.database import Connection, Engine, read_connection, write_connection
from samhandling.store.export_queries import (
    COMPLETED,
    ExportJob,
    SnapshotSelection,
    end_job,
    record_progress,
    snapshot_batch,
)

Clock = Callable[[], int]
#: which rows of a batch a walk writes (and with whose date shift)
Choice = Callable[[Connection, list[Row]], list[Row]]


@dataclass(frozen=True)
class RunLimits:
    """How a job runs: rows per batch, bytes per file, the lease renewed per batch, and
    its pace, so that an export never starves the clinical requests of the same process
    and database: after each batch the worker waits at least `pause_seconds`, and longer
    if it went faster than `rows_per_second` (0: no bound)."""

    batch_size: int = 500
    max_file_bytes: int = 1 << 30
    lease_us: int = 60_000_000
    rows_per_second: float = 2_000.0
    pause_seconds: float = 0.02
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def pace(self, rows: int, started: float) -> float:
        """Wait after a batch of `rows` begun at `started` (monotonic); the wait."""
        wait = self.pause_seconds
        if self.rows_per_second > 0:
            wait = max(wait, rows / self.rows_per_second - (self.monotonic() - started))
        if wait > 0:
            self.sleep(wait)
        return wait


#: an operator's export on the command line runs at full speed
UNPACED = RunLimits(rows_per_second=0, pause_seconds=0)


class Cancelled(Exception):
    """The job was cancelled (or is no longer this worker's) while it ran."""


class TypeWriter:
    """Writes one type's NDJSON files, renaming each when it is complete."""

    def __init__(self, folder: Path, resource_type: str, max_bytes: int) -> None:
        self.folder, self.resource_type, self.max_bytes = folder, resource_type, max_bytes
        self.files: list[dict[str, Any]] = []
        self._part, self._count, self._size = 0, 0, 0
        self._handle: BinaryIO | None = None

    def write(self, resource: dict[str, Any]) -> None:
        line = json_codec.dump(resource) + b"\n"
        if self._handle is None or (self._size + len(line) > self.max_bytes and self._count):
            self._close()
            self._open()
        assert self._handle is not None
        self._handle.write(line)
        self._count, self._size = self._count + 1, self._size + len(line)

    def finish(self) -> list[dict[str, Any]]:
        self._close()
        return self.files

    def abandon(self) -> None:
        if self._handle is not None:
            self._handle.close()
            temporary(self._path()).unlink(missing_ok=True)
            self._handle = None

    def _path(self) -> Path:
        return self.folder / file_name(self.resource_type, self._part)

    def _open(self) -> None:
        self._part += 1
        self._count = self._size = 0
        self._handle = temporary(self._path()).open("wb")

    def _close(self) -> None:
        if self._handle is None:
            return
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._handle = None
        os.replace(temporary(self._path()), self._path())
        self.files.append(
            {"type": self.resource_type, "file": self._path().name, "count": self._count}
        )


def run_job(
    engine: Engine,
    job: ExportJob,
    folders: ExportFolders,
    limits: RunLimits,
    clock: Clock,
    pseudonyms: Pseudonyms | None = None,
) -> bool:
    """Run `job` to the end (de-identified with `pseudonyms` when the job asks it); False
    when it was cancelled (its files are removed)."""
    if job.parameters.get("deidentify") and pseudonyms is None:
        raise ValueError("a de-identified export needs its project's pseudonyms")
    folder = folders.folder(job.job_id)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".*.part"):
        stale.unlink()  # a file the job's last run did not finish
    output = list(job.output)
    done = {entry["type"] for entry in output}
    try:
        for resource_type in phases(job.parameters):
            if resource_type in done:
                continue
            written = _export_type(
                engine, job, resource_type, folder, (limits, clock), output, pseudonyms
            )
            output.extend(written)
            _progress(engine, job, output, f"{resource_type} done", limits, clock)
    except Cancelled:
        folders.remove(job.job_id)
        return False
    messages = write_messages(folder, job.parameters.get("ignored") or [])
    with write_connection(engine) as connection:
        if not end_job(connection, job.job_id, COMPLETED, output + messages):
            folders.remove(job.job_id)
            return False
        append_at_commit(connection, export_record(job, output, clock()))
    return True


def _export_type(
    engine: Engine,
    job: ExportJob,
    resource_type: str,
    folder: Path,
    running: tuple[RunLimits, Clock],
    output: list[dict[str, Any]],
    pseudonyms: Pseudonyms | None,
) -> list[dict[str, Any]]:
    """Write one type's files of a job, recording progress after each batch."""
    limits, clock = running

    def on_batch(written: int) -> None:
        note = f"{resource_type}: {written} written"
        _progress(engine, job, output, note, limits, clock)

    shaping = _shaping(job, resource_type, pseudonyms)
    if resource_type == PROVENANCE and walks_provenance(job.parameters):
        walk = SnapshotSelection(PROVENANCE, job.snapshot_tx)
        choice = _provenance_choice(job, shaping)
        return export_type(engine, walk, shaping, folder, limits, on_batch, choose=choice)
    return export_type(engine, _selection(job, resource_type), shaping, folder, limits, on_batch)


def _shaping(job: ExportJob, resource_type: str, pseudonyms: Pseudonyms | None) -> Shaping:
    filters = (job.parameters.get("type_filters") or {}).get(resource_type) or ()
    return Shaping(job.parameters.get("elements"), pseudonyms, tuple(filters))


def _provenance_choice(job: ExportJob, shaping: Shaping) -> ProvenanceChoice:
    """The Provenance walk of `job`: its own selection of them and its exported types."""
    types = job.parameters["types"]
    others = [t for t in types if t != PROVENANCE]
    return ProvenanceChoice(
        snapshot_tx=job.snapshot_tx,
        associated=job.parameters.get("associated"),
        own=_selection(job, PROVENANCE) if PROVENANCE in types else None,
        targets={t: (_selection(job, t), _shaping(job, t, None)) for t in others},
        provenance_filter=Shaping(filters=shaping.filters),
        deidentified=shaping.pseudonyms is not None,
        base_url=job.parameters.get("base_url"),
    )


def export_type(
    engine: Engine,
    selection: SnapshotSelection,
    shaping: Shaping,
    folder: Path,
    limits: RunLimits,
    on_batch: Callable[[int], None],
    *,
    withhold: bool = True,
    choose: Choice | None = None,
) -> list[dict[str, Any]]:
    """Write one type's snapshot as NDJSON files in `folder`, one bounded batch at a time
    (`on_batch(written so far)` after each, then the pause `limits` ask); the manifest
    entries (count 0 when none). With `withhold`, entries the policy withholds from
    systems (labels) are left out. `choose` picks a batch's rows (default: the type's
    filters)."""
    writer = TypeWriter(folder, selection.resource_type, limits.max_file_bytes)
    after, written = "", 0
    try:
        while True:
            started = limits.monotonic()
            with read_connection(engine) as connection:
                rows = snapshot_batch(connection, selection, after, limits.batch_size)
                if choose is not None:
                    wanted = choose(connection, rows)
                else:
                    wanted = shaping.matching(connection, selection.resource_type, rows)
            for _resource_id, patient_id, resource in wanted:
                if not (withhold and withheld_from_systems(resource)):
                    writer.write(shaping.shape(resource, patient_id))
                    written += 1
            on_batch(written)
            if len(rows) < limits.batch_size:
                break
            after = rows[-1][0]
            limits.pace(len(rows), started)
    except BaseException:
        writer.abandon()
        raise
    return writer.finish() or [{"type": selection.resource_type, "file": None, "count": 0}]


def _selection(job: ExportJob, resource_type: str) -> SnapshotSelection:
    patients = job.parameters.get("patients")
    return SnapshotSelection(
        resource_type,
        job.snapshot_tx,
        job.parameters.get("since_us"),
        tuple(patients) if patients is not None else None,
        bool(job.parameters.get("all_patients")),
    )


def _progress(
    engine: Engine,
    job: ExportJob,
    output: list[dict[str, Any]],
    note: str,
    limits: RunLimits,
    clock: Clock,
) -> None:
    types = phases(job.parameters)
    finished = len({entry["type"] for entry in output})
    progress = f"{finished}/{len(types)} types; {note}"
    with write_connection(engine) as connection:
        if not record_progress(connection, job.job_id, clock() + limits.lease_us, progress, output):
            raise Cancelled(job.job_id)
