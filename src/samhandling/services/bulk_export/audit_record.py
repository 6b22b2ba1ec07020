"""What left: the audit record of a finished export, written in the transaction that
marks the job completed (so there is no finished export without its record). It names
the client (the agent recorded at kick-off), the request, the types with their counts
(`outcomeDesc`) and, for a Group export, the Group and its member patients."""

from __future__ import annotations

from typing import Any

from samhandling.audit.records import AuditRecord
from samhandling.store.export_queries import ExportJob


def export_record(job: ExportJob, output: list[dict[str, Any]], now_us: int) -> AuditRecord:
    """The record of `job`, finished with `output` (the manifest's entries)."""
    counts: dict[str, int] = {}
    for entry in output:
        counts[entry["type"]] = counts.get(entry["type"], 0) + int(entry["count"])
    left = ", ".join(f"{rtype} {count}" for rtype, count in sorted(counts.items()))
    group = job.parameters.get("group")
    return AuditRecord(
        interaction="operation:export",
        http_status=200,
        recorded_at_us=now_us,
        agent=dict(job.parameters.get("agent") or {}),
        entities=[("Group", group, None)] if group else [],
        patients=set(job.parameters.get("patients") or ()),
        query=job.request[:2000],
        outcome_description=f"export {job.job_id} completed: {left or 'nothing'}"[:500],
        method="GET",
        path=f"/fhir/_export/{job.job_id}",
    )
