"""Batch and transaction Bundles (R4 §3.1.0.11).

A transaction runs in ONE database transaction: any failing entry rolls everything back and
the error names the entry. A batch's entries succeed or fail one by one (`batch.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from samhandling.access_guard import OPEN_ACCESS, AccessGuard
from samhandling.interactions.batch import BatchRequest, run_batch
from samhandling.interactions.bundle_entries import (
    METHOD_ORDER,
    BundleEntry,
    naming_entry,
    parse_bundle,
)
from samhandling.interactions.bundle_refs import ReferenceResolver
from samhandling.interactions.entry_actions import EntryContext, run_entry
from samhandling.interactions.write_rules import WriteRule
from samhandling.store.database import write_connection
from samhandling.store.version_writer import VersionWriter


def process_bundle(
    engine: Engine,
    body: Any,
    base_url: str,
    *,
    representation: bool = False,
    guard: AccessGuard = OPEN_ACCESS,
    rules: Sequence[WriteRule],
) -> dict[str, Any]:
    """Process a batch or transaction Bundle and return the response Bundle. `rules` are the
    services' write rules (required: no entry point may write without them)."""
    kind, entries = parse_bundle(body)
    guard.check_request("transaction" if kind == "transaction" else "batch", None)
    if kind == "transaction":
        responses = _transaction(engine, entries, base_url, representation, guard, rules)
    else:
        responses = run_batch(engine, entries, BatchRequest(base_url, representation, guard, rules))
    return {"resourceType": "Bundle", "type": f"{kind}-response", "entry": responses}


def _transaction(
    engine: Engine,
    entries: list[BundleEntry],
    base_url: str,
    representation: bool,
    guard: AccessGuard,
    rules: Sequence[WriteRule],
) -> list[dict[str, Any]]:
    responses: list[dict[str, Any]] = [{} for _ in entries]
    with write_connection(engine) as connection:
        resolver = ReferenceResolver(connection, guard)
        # A POST entry's id is a fresh UUID (`ReferenceResolver.assign_id`): its current row
        # goes in with the commit's COPY, no INSERT round trip per create.
        writer = VersionWriter(connection, guard, rules, queued_creates=True)
        context = EntryContext(writer, resolver, base_url, representation)
        ordered = sorted(entries, key=_processing_order)
        resolver.lock_conditional_writes(ordered)
        for entry in ordered:
            naming_entry(entry, resolver.assign_id, entry)
        for entry in ordered:
            if isinstance(entry.resource, dict):
                naming_entry(entry, resolver.rewrite, entry.resource)
        for entry in ordered:
            responses[entry.index] = naming_entry(entry, run_entry, context, entry)
    return responses


# Document content is written before the resources that describe it, so that their write
# rules see it (a DocumentReference's hash and size are checked against its Binary's bytes,
# IHE MHD ITI-65). Ids are assigned before any entry runs, so the order changes no result.
CONTENT_TYPES = frozenset({"Binary"})


def _processing_order(entry: BundleEntry) -> tuple[int, int]:
    return METHOD_ORDER[entry.method], 0 if entry.resource_type in CONTENT_TYPES else 1
