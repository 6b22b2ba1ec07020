"""After the kick-off: the status of a job (202 with `X-Progress` while it runs, 200 with
the manifest when done), its cancellation (DELETE) and its files. Only the client that
started a job sees it; to anyone else it does not exist (404)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samhandling.auth.principal import Principal
from samhandling.fhir.instants import format_http_date, format_instant
from samhandling.fhir.outcome import FhirError, Issue, error, operation_outcome
from samhandling.services.bulk_export.files import ExportFolders
from samhandling.services.bulk_export.kickoff import client_of
from samhandling.store.database import Connection
from samhandling.store.export_queries import (
    CANCELLED,
    COMPLETED,
    FAILED,
    ExportJob,
    cancel_job,
    find_job,
)

RETRY_AFTER_SECONDS = 2


@dataclass(frozen=True)
class StatusAnswer:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str]


def owned_job(connection: Connection, job_id: str, principal: Principal | None) -> ExportJob:
    """The caller's job, or 404 (unknown, another client's, or cancelled)."""
    job = find_job(connection, job_id) if len(job_id) == 36 else None
    if (
        job is None
        or principal is None
        or principal.kind != "system"
        or job.client_id != client_of(principal)
        or job.status == CANCELLED
    ):
        raise FhirError(404, error("not-found", f"No export job {job_id}"))
    return job


def status_of(job: ExportJob, base_url: str) -> StatusAnswer:
    """What polling the status URL answers."""
    expires = {"Expires": format_http_date(job.expires_us)}
    if job.status == COMPLETED:
        return StatusAnswer(200, manifest(job, base_url), expires)
    if job.status == FAILED:
        issue = Issue("error", "exception", job.error or "the export failed")
        return StatusAnswer(500, operation_outcome([issue]), expires)
    progress = job.progress or job.status
    headers = {"X-Progress": progress, "Retry-After": str(RETRY_AFTER_SECONDS)}
    return StatusAnswer(202, None, headers)


def manifest(job: ExportJob, base_url: str) -> dict[str, Any]:
    """The completion manifest (Bulk Data Access 2.0)."""
    files = [
        {
            "type": e["type"],
            "url": f"{base_url}/_export/{job.job_id}/{e['file']}",
            "count": e["count"],
        }
        for e in job.output
        if e.get("file")
    ]
    errors = [e.get("error", False) for e in job.output if e.get("file")]
    return {
        "transactionTime": format_instant(job.transaction_time_us),
        "request": job.request,
        "requiresAccessToken": True,
        "output": [f for f, is_error in zip(files, errors, strict=True) if not is_error],
        "error": [f for f, is_error in zip(files, errors, strict=True) if is_error],
    }


def cancel(connection: Connection, job: ExportJob, folders: ExportFolders) -> None:
    """Cancel a job and remove its files (a running worker stops at its next batch and
    removes what it wrote since)."""
    cancel_job(connection, job.job_id)
    folders.remove(job.job_id)


def job_file(job: ExportJob, name: str, folders: ExportFolders) -> Path:
    """A completed job's file, or 404."""
    found = folders.file(job.job_id, name) if job.status == COMPLETED else None
    if found is None:
        raise FhirError(404, error("not-found", f"No file {name} in export {job.job_id}"))
    return found
