"""Named queries of the Bulk Data `$export` (services/bulk_export): the job rows and the
snapshot walk.

The snapshot walk reads, for one resource type, the versions current as of a transaction
(`snapshot_tx`: the newest version with `tx_id <= snapshot_tx`, unless that is a delete),
in resource id order, one bounded batch at a time after a keyset cursor: an export never
holds more than a batch in memory, and writes committed after the kick-off never show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, exists, select, update
from sqlalchemy import delete as sql_delete

from samhandling.fhir import json_codec
from samhandling.store.schema import resource_version, transaction_log
from samhandling.store.service_tables import export_job

ACCEPTED, RUNNING, COMPLETED, FAILED, CANCELLED = (
    "accepted",
    "running",
    "completed",
    "failed",
    "cancelled",
)


@dataclass(frozen=True)
class ExportJob:
    """One job row, its JSON columns parsed."""

    job_id: str
    client_id: str
    status: str
    request: str
    parameters: dict[str, Any]
    snapshot_tx: int
    transaction_time_us: int
    created_us: int
    expires_us: int
    lease_until_us: int | None
    progress: str | None
    output: list[dict[str, Any]]
    error: str | None


@dataclass(frozen=True)
class SnapshotSelection:
    """What one type's walk reads: the snapshot, `_since`, and the patients (None: any
    resource; `all_patients`: any resource in some patient's compartment); `ids`: only
    those resources (a look-up of known ids rather than a walk)."""

    resource_type: str
    snapshot_tx: int
    since_us: int | None = None
    patients: tuple[str, ...] | None = None
    all_patients: bool = False
    ids: tuple[str, ...] | None = None


def insert_job(connection: Connection, job: ExportJob) -> None:
    """Store a new job."""
    connection.execute(export_job.insert().values(**_row(job)))


def find_job(connection: Connection, job_id: str) -> ExportJob | None:
    """The job, or None."""
    row = connection.execute(select(export_job).where(export_job.c.job_id == job_id)).first()
    return _job(row._mapping) if row is not None else None


def claim_job(connection: Connection, now_us: int, lease_us: int) -> ExportJob | None:
    """Take the oldest job waiting, or running under an expired lease (its process died),
    and lease it until `now_us + lease_us`; None when there is none. The conditional
    update makes the claim safe between processes."""
    j = export_job.c
    open_jobs = (j.status == ACCEPTED) | ((j.status == RUNNING) & (j.lease_until_us < now_us))
    candidates = connection.execute(
        select(j.job_id, j.status, j.lease_until_us).where(open_jobs).order_by(j.created_us)
    ).all()
    for job_id, status, lease in candidates:
        claimed = connection.execute(
            update(export_job)
            .where(j.job_id == job_id, j.status == status, _same(j.lease_until_us, lease))
            .values(status=RUNNING, lease_until_us=now_us + lease_us)
        )
        if claimed.rowcount == 1:
            return find_job(connection, job_id)
    return None


def _same(column: Any, value: int | None) -> Any:
    return column.is_(None) if value is None else column == value


def record_progress(
    connection: Connection,
    job_id: str,
    lease_until_us: int,
    progress: str,
    output: list[dict[str, Any]],
) -> bool:
    """Renew a running job's lease and record its progress; False when it is no longer
    running (cancelled or deleted), so the worker stops."""
    j = export_job.c
    changed = connection.execute(
        update(export_job)
        .where(j.job_id == job_id, j.status == RUNNING)
        .values(lease_until_us=lease_until_us, progress=progress, output=_dump(output))
    )
    return changed.rowcount == 1


def end_job(
    connection: Connection,
    job_id: str,
    status: str,
    output: list[dict[str, Any]],
    error: str | None = None,
) -> bool:
    """Mark a running job completed or failed; False when it was cancelled meanwhile."""
    j = export_job.c
    changed = connection.execute(
        update(export_job)
        .where(j.job_id == job_id, j.status == RUNNING)
        .values(status=status, output=_dump(output), error=error, lease_until_us=None)
    )
    return changed.rowcount == 1


def cancel_job(connection: Connection, job_id: str) -> bool:
    """Mark a job cancelled (the worker stops at its next batch); False if unknown."""
    j = export_job.c
    changed = connection.execute(
        update(export_job).where(j.job_id == job_id).values(status=CANCELLED)
    )
    return changed.rowcount == 1


def delete_job(connection: Connection, job_id: str) -> None:
    """Forget a job."""
    connection.execute(sql_delete(export_job).where(export_job.c.job_id == job_id))


def jobs_to_remove(connection: Connection, now_us: int) -> list[str]:
    """The jobs expired by `now_us`, and the cancelled ones no worker is running."""
    j = export_job.c
    expired = j.expires_us <= now_us
    cancelled = (j.status == CANCELLED) & (j.lease_until_us.is_(None) | (j.lease_until_us < now_us))
    return [r[0] for r in connection.execute(select(j.job_id).where(expired | cancelled))]


def snapshot_position(connection: Connection) -> tuple[int, int]:
    """The transaction counter now and when that transaction committed (µs; 0 and 0 for
    an empty store)."""
    t = transaction_log.c
    row = connection.execute(
        select(t.tx_id, t.committed_at_us).order_by(t.tx_id.desc()).limit(1)
    ).first()
    return (int(row[0]), int(row[1])) if row is not None else (0, 0)


def snapshot_types(connection: Connection, snapshot_tx: int, patients_only: bool) -> list[str]:
    """The resource types with a version in the snapshot (in a patient's compartment only,
    if `patients_only`), sorted."""
    v = resource_version.c
    conditions = [v.tx_id <= snapshot_tx]
    if patients_only:
        conditions.append(v.patient_id.is_not(None))
    stmt = select(v.resource_type).where(*conditions).distinct()
    return sorted(r[0] for r in connection.execute(stmt))


def snapshot_batch(
    connection: Connection, selection: SnapshotSelection, after: str, size: int
) -> list[tuple[str, str | None, dict[str, Any]]]:
    """The next `size` (id, patient id of its compartment or None, resource) of the
    selection after the id `after`, in id order."""
    v = resource_version.c
    later = resource_version.alias("later")
    newer = exists().where(
        later.c.resource_type == v.resource_type,
        later.c.resource_id == v.resource_id,
        later.c.version_id > v.version_id,
        later.c.tx_id <= selection.snapshot_tx,
    )
    conditions = [
        v.resource_type == selection.resource_type,
        v.resource_id > after,
        v.tx_id <= selection.snapshot_tx,
        v.deleted.is_(False),
        ~newer,
        *_filters(selection),
    ]
    stmt = (
        select(v.resource_id, v.patient_id, v.content)
        .where(and_(*conditions))
        .order_by(v.resource_id)
        .limit(size)
    )
    return [(r[0], r[1], json_codec.parse(r[2])) for r in connection.execute(stmt)]


def _filters(selection: SnapshotSelection) -> list[Any]:
    v = resource_version.c
    found: list[Any] = []
    if selection.since_us is not None:
        found.append(v.last_updated_us > selection.since_us)
    if selection.patients is not None:
        found.append(v.patient_id.in_(selection.patients))
    elif selection.all_patients:
        found.append(v.patient_id.is_not(None))
    if selection.ids is not None:
        found.append(v.resource_id.in_(selection.ids))
    return found


def _row(job: ExportJob) -> dict[str, Any]:
    values = dict(job.__dict__)
    values["parameters"] = _dump(job.parameters)
    values["output"] = _dump(job.output)
    return values


def _job(row: Any) -> ExportJob:
    values = dict(row)
    values["parameters"] = json_codec.parse(values["parameters"])
    values["output"] = json_codec.parse(values["output"])
    return ExportJob(**values)


def _dump(value: Any) -> str:
    return json_codec.dump(value).decode()
