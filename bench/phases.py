"""Server thread CPU by phase (`full --phases SET`): where a request's CPU goes, exactly.

`py-spy` samples the server's threads and cannot tell a thread waiting inside a system call
from one working: under measurement ingest it put 20% of the samples in the COPY exchange,
whose thread CPU is 6%. The phase probe (`bench/phase_probe/`) wraps named functions of the
server under test and adds up the calls and the `time.thread_time` they take; the harness
reads the counts as the measured phase of a workload starts and after it ends, and reports
the difference per unit call (one call of the set's first target per request: a Bundle,
an audit record). The server's code is not changed: the probe is loaded by the server's
PYTHONPATH only when asked for. Each probe adds about two clock reads to its call (the
report names that cost); a parent's time includes its children's and their probes'.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

from bench.phase_probe_install import DUMP_SECONDS

__all__ = ["DUMP_SECONDS", "PHASE_SETS", "describe", "per_unit", "server_env", "snapshot"]

PROBE_DIR = Path(__file__).resolve().parent / "phase_probe"

# Each set: its unit (one call per request of the workloads it serves) first.
PHASE_SETS: dict[str, tuple[str, ...]] = {
    # batch and transaction Bundles: the write path of each entry
    "bundle": (
        "samhandling.interactions.bundle:process_bundle",
        "samhandling.fhir.json_codec:parse",
        "samhandling.interactions.batch:_Chunk.run",
        "samhandling.interactions.batch_answers:AnsweredCriteria.search_first",
        "samhandling.interactions.crud:create",
        "samhandling.interactions.resource_input:checked_resource",
        "samhandling.fhir.validation:validate_resource",
        "samhandling.store.version_writer:VersionWriter.write",
        "samhandling.store.version_writer:VersionWriter._prepare",
        "samhandling.fhir.indexing.values:extract_index_values",
        "samhandling.fhir.indexing.text:text_values",
        "samhandling.interactions.policy_guard:PolicyGuard.after_write",
        "samhandling.interactions.entry_actions:_response",
        "samhandling.store.index_buffer:IndexBuffer.flush",
        "samhandling.audit.trail:_AtCommit._at_commit",
    ),
    # batch and transaction Bundles, finer: the version writer's parts and the Bundle's
    # work around its chunks
    "bundle_detail": (
        "samhandling.interactions.bundle:process_bundle",
        "samhandling.interactions.bundle_entries:parse_bundle",
        "samhandling.interactions.batch:run_batch",
        "samhandling.interactions.batch:_chunk",
        "samhandling.interactions.batch:_AsSent.of",
        "samhandling.interactions.batch:_Chunk.run",
        "samhandling.interactions.bundle_refs:ReferenceResolver.assign_id",
        "samhandling.interactions.bundle_refs:ReferenceResolver.rewrite",
        "samhandling.interactions.batch_answers:AnsweredCriteria.note_written",
        "samhandling.interactions.crud:create",
        "samhandling.interactions.crud:_checked",
        "samhandling.store.version_writer:VersionWriter.write",
        "samhandling.store.version_writer:VersionWriter._prepare",
        "samhandling.store.version_writer:VersionWriter._write_index",
        "samhandling.store.version_writer:VersionWriter._write_outbox",
        "samhandling.store.version_writer:VersionWriter._write_current",
        "samhandling.store.index_rows:index_rows",
        "samhandling.store.index_buffer:IndexBuffer.add_rows",
        "samhandling.store.policy_facts:facts_of",
        "samhandling.fhir.compartment:patient_compartment_ids",
        "samhandling.fhir.json_codec:dump",
        "samhandling.interactions.policy_guard:PolicyGuard.after_write",
        "samhandling.interactions.entry_actions:_response",
    ),
    # single creates (POST Type): the write inside its transaction, and its commit's hooks
    "write": (
        "samhandling.interactions.crud:create",
        "samhandling.interactions.write_rules:governing_rules",
        "samhandling.interactions.resource_input:checked_resource",
        "samhandling.fhir.validation:validate_resource",
        "samhandling.interactions.crud:_checked",
        "samhandling.interactions.policy_guard:PolicyGuard.check_write",
        "samhandling.store.version_writer:VersionWriter.write",
        "samhandling.store.version_writer:VersionWriter._prepare",
        "samhandling.fhir.indexing.values:extract_index_values",
        "samhandling.fhir.indexing.text:text_values",
        "samhandling.store.version_writer:VersionWriter._write_index",
        "samhandling.interactions.policy_guard:PolicyGuard.after_write",
        "samhandling.store.index_buffer:IndexBuffer.flush",
        "samhandling.audit.trail:_AtCommit._at_commit",
        "samhandling.api.audit_middleware:request_record",
        "samhandling.audit.trail:_batch",
        "samhandling.api.responses:fhir_response",
        "samhandling.fhir.json_codec:parse",
    ),
    # the audit record of each request or written resource
    "audit": (
        "samhandling.audit.trail:event_row",
        "samhandling.audit.stored_form:stored_content",
        "samhandling.api.audit_middleware:request_record",
        "samhandling.audit.trail:_batch",
        "samhandling.audit.trail:_rows",
        "samhandling.audit.chain:link_batch",
        "samhandling.audit.chain:canonical_row",
    ),
}


def server_env(name: str, out: Path) -> dict[str, str]:
    """The environment that loads the probe of set `name` into the server under test."""
    if name not in PHASE_SETS:
        raise ValueError(f"unknown phase set {name!r}: one of {', '.join(PHASE_SETS)}")
    return {
        "PYTHONPATH": str(PROBE_DIR),  # prepended to the server's own (bench/server.py)
        "BENCH_PHASES": ",".join(PHASE_SETS[name]),
        "BENCH_PHASES_OUT": str(out),
    }


def snapshot(out: Path, *, settle_s: float = 0.0) -> dict[str, Any]:
    """The probe's counts now (after `settle_s`: one dump interval lets the last calls in);
    empty before its first dump."""
    if settle_s:
        time.sleep(settle_s)
    try:
        found: dict[str, Any] = orjson.loads(out.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    return found


def per_unit(name: str, before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target's calls and thread CPU (µs) per call of the set's unit between the two
    snapshots, largest first; empty when the unit was not called."""
    counts_before = before.get("counts", {})
    counts_after = after.get("counts", {})

    def delta(target: str) -> tuple[float, float]:
        calls0, cpu0 = counts_before.get(target, (0, 0.0))
        calls1, cpu1 = counts_after.get(target, (0, 0.0))
        return calls1 - calls0, cpu1 - cpu0

    unit = PHASE_SETS[name][0]
    units, _ = delta(unit)
    if units <= 0:
        return []
    rows = []
    for target in PHASE_SETS[name]:
        calls, cpu = delta(target)
        rows.append(
            {
                "phase": target.split(":", 1)[1],
                "calls_per_unit": round(calls / units, 3),
                "us_per_unit": round(1e6 * cpu / units, 1),
            }
        )
    return sorted(rows, key=lambda row: -row["us_per_unit"])


def describe(name: str, rows: list[dict[str, Any]], probe_cost_s: float) -> str:
    """The report's lines for one workload."""
    unit = PHASE_SETS[name][0].split(":", 1)[1]
    lines = [
        f"thread CPU by phase (set {name}, per call of {unit}; each probe adds "
        f"≈ {probe_cost_s * 1e6:.1f} µs to its call):"
    ]
    lines += [
        f"  {row['us_per_unit']:10.1f} µs  {row['calls_per_unit']:8.3f} calls  {row['phase']}"
        for row in rows
    ]
    return "\n".join(lines)
