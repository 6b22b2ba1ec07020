"""`samhandling export`: the store as NDJSON files in a directory, one per resource type,
read from one snapshot, with a progress bar; `samhandling import` loads them again."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress

from samhandling.cli.operator_errors import open_database
from samhandling.config import Settings
from samhandling.services.bulk_export.directory_export import export_to_directory


def export_store(settings: Settings, directory: Path, types: list[str] | None) -> dict[str, int]:
    """Export the store (or `types`) into `directory`; prints the count per type."""
    engine = open_database(settings.database_url)
    try:
        with Progress(transient=False) as progress:
            task = progress.add_task("exporting", total=None)

            def shown(resource_type: str, written: int) -> None:
                progress.update(task, description=f"{resource_type}: {written}")

            counts = export_to_directory(engine, directory, types or None, progress=shown)
            progress.update(task, total=1, completed=1, description="exported")
    finally:
        engine.dispose()
    typer.echo(f"exported {sum(counts.values())} resources to {directory}")
    for resource_type, count in sorted(counts.items()):
        typer.echo(f"  {resource_type}: {count}")
    return counts
