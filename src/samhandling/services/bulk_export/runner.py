"""Running one export job: for each type, walk the snapshot in bounded batches and write
NDJSON files (split at a size limit), recording progress and renewing the job's lease after
each batch. A cancelled job stops at its next batch; a resumed job (its process died) skips
the types it finished and writes the others again from the start.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from samhandling.audit.trail import append_at_commit
from samhandling.auth.labels import labels_of
from samhandling.fhir import json_codec
from samhandling.services.bulk_export.audit_record import export_record
from samhandling.services.bulk_export.elements import subset
from samhandling.services.bulk_export.files import ExportFolders, file_name, temporary
from samhandling.store.database import Engine, read_connection, write_connection
from samhandling.store.export_queries import (
    COMPLETED,
    ExportJob,
    SnapshotSelection,
    end_job,
    record_progress,
    snapshot_batch,
)

Clock = Callable[[], int]


@dataclass(frozen=True)
class RunLimits:
    """How a job runs: rows per batch, bytes per file, and the lease renewed per batch."""

    batch_size: int = 500
    max_file_bytes: int = 1 << 30
    lease_us: int = 60_000_000


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
) -> bool:
    """Run `job` to the end; False when it was cancelled (its files are removed)."""
    folder = folders.folder(job.job_id)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".*.part"):
        stale.unlink()  # a file the job's last run did not finish
    output = list(job.output)
    done = {entry["type"] for entry in output}
    try:
        for resource_type in job.parameters["types"]:
            if resource_type in done:
                continue
            output.extend(_export_type(engine, job, resource_type, folder, limits, clock, output))
            _progress(engine, job, output, f"{resource_type} done", limits, clock)
    except Cancelled:
        folders.remove(job.job_id)
        return False
    with write_connection(engine) as connection:
        if not end_job(connection, job.job_id, COMPLETED, output):
            folders.remove(job.job_id)
            return False
        append_at_commit(connection, export_record(job, output, clock()))
    return True


def _export_type(
    engine: Engine,
    job: ExportJob,
    resource_type: str,
    folder: Path,
    limits: RunLimits,
    clock: Clock,
    output: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Write one type's files of a job, recording progress after each batch."""

    def on_batch(written: int) -> None:
        note = f"{resource_type}: {written} written"
        _progress(engine, job, output, note, limits, clock)

    elements = job.parameters.get("elements")
    return export_type(engine, _selection(job, resource_type), elements, folder, limits, on_batch)


def export_type(
    engine: Engine,
    selection: SnapshotSelection,
    elements: list[str] | None,
    folder: Path,
    limits: RunLimits,
    on_batch: Callable[[int], None],
    *,
    withhold: bool = True,
) -> list[dict[str, Any]]:
    """Write one type's snapshot as NDJSON files in `folder`, one bounded batch at a time
    (`on_batch(written so far)` after each); the manifest entries (count 0 when none).
    With `withhold`, entries the policy withholds from systems (labels) are left out."""
    resource_type = selection.resource_type
    writer = TypeWriter(folder, resource_type, limits.max_file_bytes)
    after, written = "", 0
    try:
        while True:
            with read_connection(engine) as connection:
                rows = snapshot_batch(connection, selection, after, limits.batch_size)
            for _resource_id, resource in rows:
                if not (withhold and _withheld_from_systems(resource)):
                    writer.write(subset(resource, elements))
                    written += 1
            on_batch(written)
            if len(rows) < limits.batch_size:
                break
            after = rows[-1][0]
    except BaseException:
        writer.abandon()
        raise
    return writer.finish() or [{"type": resource_type, "file": None, "count": 0}]


def _withheld_from_systems(resource: dict[str, Any]) -> bool:
    """The policy's rule for systems: blocked or very restricted entries are withheld."""
    labels = labels_of(resource)
    return labels.blocked_for_personnel or labels.very_restricted


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
    types = job.parameters["types"]
    finished = len({entry["type"] for entry in output})
    progress = f"{finished}/{len(types)} types; {note}"
    with write_connection(engine) as connection:
        if not record_progress(connection, job.job_id, clock() + limits.lease_us, progress, output):
            raise Cancelled(job.job_id)
