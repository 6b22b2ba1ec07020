"""`samhandling import`: load Bundles from files with a progress bar and a final count."""

from __future__ import annotations

import bz2
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress

from samhandling.config import Settings
from samhandling.fhir import json_codec
from samhandling.fhir.outcome import FhirError
from samhandling.interactions.bundle import process_bundle
from samhandling.store.database import make_engine
from samhandling.store.schema_migrations import upgrade


def read_bundles(path: Path) -> Iterator[dict[str, Any]]:
    """The Bundles in a file: one JSON Bundle, bzip2-compressed JSON, or NDJSON of Bundles."""
    raw = bz2.decompress(path.read_bytes()) if path.suffix == ".bz2" else path.read_bytes()
    if path.name.endswith((".ndjson", ".ndjson.bz2")):
        for line in raw.splitlines():
            if line.strip():
                yield json_codec.parse(line)
    else:
        yield json_codec.parse(raw)


def import_order(paths: list[Path]) -> list[Path]:
    """Files in load order: directories expanded; shared-entity bundles ('0-…') first."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.iterdir())
                if p.name.endswith((".json", ".json.bz2", ".ndjson"))
            )
        else:
            files.append(path)
    return sorted(files, key=lambda p: (not p.name.startswith("0-"), p.name))


def import_bundles(settings: Settings, paths: list[Path]) -> Counter[str]:
    """Import every Bundle; prints the count of entries per resource type and outcome."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    counts: Counter[str] = Counter()
    failures = 0
    files = import_order(paths)
    try:
        with Progress(transient=False) as progress:
            task = progress.add_task("importing", total=len(files))
            for path in files:
                for bundle in read_bundles(path):
                    failures += _import_one(engine, bundle, settings.base_url, counts, path)
                progress.advance(task)
    finally:
        engine.dispose()
    total = sum(counts.values())
    typer.echo(f"imported {total} resources from {len(files)} files ({failures} failed bundles)")
    for resource_type, count in sorted(counts.items()):
        typer.echo(f"  {resource_type}: {count}")
    if failures:
        raise typer.Exit(1)
    return counts


def _import_one(
    engine: Any, bundle: dict[str, Any], base_url: str, counts: Counter[str], path: Path
) -> int:
    try:
        response = process_bundle(engine, bundle, base_url)
    except FhirError as exc:
        typer.echo(f"{path.name}: {exc.status} {exc.message}", err=True)
        return 1
    failed = 0
    for request_entry, response_entry in zip(
        bundle.get("entry", []), response["entry"], strict=True
    ):
        status = response_entry.get("response", {}).get("status", "")
        if status.startswith(("200", "201")):
            counts[request_entry.get("resource", {}).get("resourceType", "?")] += 1
        else:
            failed = 1
            typer.echo(f"{path.name}: entry failed: {status}", err=True)
    return failed
