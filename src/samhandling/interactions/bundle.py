"""Batch and transaction Bundles (R4 §3.1.0.11).

A transaction runs in ONE database transaction: any failing entry rolls everything back and
the error names the entry. A batch runs each entry in its own transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from samhandling.fhir.outcome import FhirError, Issue
from samhandling.fhir.references import rewrite_references
from samhandling.interactions.bundle_entries import (
    METHOD_ORDER,
    BundleEntry,
    parse_bundle,
    status_line,
)
from samhandling.interactions.bundle_refs import ReferenceResolver
from samhandling.interactions.entry_actions import run_entry
from samhandling.store.database import write_connection
from samhandling.store.version_writer import VersionWriter


def process_bundle(
    engine: Engine, body: Any, base_url: str, *, representation: bool = False
) -> dict[str, Any]:
    """Process a batch or transaction Bundle and return the response Bundle."""
    kind, entries = parse_bundle(body)
    if kind == "transaction":
        responses = _transaction(engine, entries, base_url, representation)
    else:
        responses = [_batch_entry(engine, entry, base_url, representation) for entry in entries]
    return {"resourceType": "Bundle", "type": f"{kind}-response", "entry": responses}


def _transaction(
    engine: Engine, entries: list[BundleEntry], base_url: str, representation: bool
) -> list[dict[str, Any]]:
    responses: list[dict[str, Any]] = [{} for _ in entries]
    with write_connection(engine) as connection:
        writer = VersionWriter(connection)
        resolver = ReferenceResolver(connection)
        ordered = sorted(entries, key=lambda e: METHOD_ORDER[e.method])
        for entry in ordered:
            _guard_entry(entry, resolver.assign_id, entry)
        for entry in ordered:
            if isinstance(entry.resource, dict):
                _guard_entry(entry, resolver.resolve_conditional_references, entry.resource)
                rewrite_references(entry.resource, resolver.mapping)
        for entry in ordered:
            responses[entry.index] = _guard_entry(
                entry, run_entry, writer, entry, resolver, base_url, representation
            )
    return responses


def _batch_entry(
    engine: Engine, entry: BundleEntry, base_url: str, representation: bool
) -> dict[str, Any]:
    try:
        with write_connection(engine) as connection:
            writer = VersionWriter(connection)
            resolver = ReferenceResolver(connection)
            resolver.assign_id(entry)
            if isinstance(entry.resource, dict):
                resolver.resolve_conditional_references(entry.resource)
                rewrite_references(entry.resource, resolver.mapping)
            return run_entry(writer, entry, resolver, base_url, representation)
    except FhirError as exc:
        return {"response": {"status": status_line(exc.status), "outcome": exc.outcome()}}


def _guard_entry(entry: BundleEntry, action: Any, *args: Any) -> Any:
    """Run `action`; a FhirError is re-raised naming the entry that failed."""
    try:
        return action(*args)
    except FhirError as exc:
        where = f"Bundle.entry[{entry.index}]"
        issues = [
            Issue(
                i.severity,
                i.code,
                f"{where} ({entry.method} {entry.url}): {i.diagnostics}",
                i.expression,
            )
            for i in exc.issues
        ]
        raise FhirError(exc.status, issues, exc.headers) from exc
