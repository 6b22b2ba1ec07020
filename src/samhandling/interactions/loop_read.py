"""Read and vread on the event loop (issue 24): `read.read` and `read.vread` with their
statements sent by `store.loop_reads.LoopReads` (PostgreSQL's asyncio connections, or
SQLite's connection of the loop's own), no worker thread.

The same steps in the same order as the threaded interactions, and the same judgements
(`read.judge_current`, `judge_deletion`, `judge_version`: pure, shared), so the answer,
its refusals and what the guard observed for the audit record are the same whichever way
a read ran. Whoever calls these decides that the read may run here (`api/rest.py`).
"""

from __future__ import annotations

from typing import Any

from samhandling.access_guard import AccessGuard
from samhandling.interactions.read import (
    judge_current,
    judge_deletion,
    judge_version,
    judged_with_later,
    later_content,
    vread_number,
)
from samhandling.store.loop_reads import LoopReads
from samhandling.store.records import StoredVersion

__all__ = ["LoopReads", "read", "vread"]


async def read(
    reads: LoopReads, resource_type: str, resource_id: str, guard: AccessGuard
) -> StoredVersion:
    """As `read.read`: the current version; 404 if it never existed, 410 if deleted."""
    guard.check_request("read", resource_type)
    current = await reads.current(resource_type, resource_id)
    if current is not None and current.deleted:
        await _check_deletion(reads, current, "read", guard)
    return judge_current(resource_type, resource_id, current, guard)


async def vread(
    reads: LoopReads, resource_type: str, resource_id: str, version: str, guard: AccessGuard
) -> StoredVersion:
    """As `read.vread`: one version; a deleted version answers 410."""
    number = vread_number(resource_type, resource_id, version, guard)
    stored = await reads.version(resource_type, resource_id, number)
    if stored is not None and stored.deleted:
        await _check_deletion(reads, stored, "vread", guard)
    later = await _later(reads, stored) if judged_with_later(stored, guard) else None
    return judge_version(resource_type, resource_id, version, stored, guard, later)


async def _check_deletion(
    reads: LoopReads, deletion: StoredVersion, interaction: str, guard: AccessGuard
) -> None:
    """As `read.check_deletion`: the deleted content judged (a 404 or refusal raised)."""
    if not guard.inspects_resources:
        return
    rtype, rid = deletion.resource_type, deletion.resource_id
    deleted = await reads.live_before(rtype, rid, deletion.version_id)
    later = await _later(reads, deletion) if deleted is not None else None
    judge_deletion(deletion, deleted, interaction, guard, later)


async def _later(reads: LoopReads, version: StoredVersion) -> dict[str, Any] | None:
    current = await reads.current(version.resource_type, version.resource_id)
    return later_content(version, current)
