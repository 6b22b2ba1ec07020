"""`samhandling import`: load Bundles from files with a progress bar and a final count.

Without `--bulk` every Bundle (and every run of 200 NDJSON resources, as a transaction of
PUTs by id) goes through the transaction code the API runs (`cli/import_files.py`).
`--bulk` creates NDJSON resources at their ids in chunks, in `--jobs` processes, into a
database no one else writes yet (`cli/bulk_import.py`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.progress import Progress

from samhandling.cli.bulk_import import ChunkLoader, Job, Outcome, load_in_phases
from samhandling.cli.import_files import (
    EXISTING,
    IMPORT_TAG_SYSTEM,
    SHIPPED,
    Destination,
    import_file,
    import_order,
)
from samhandling.cli.operator_errors import OperatorError, open_database
from samhandling.cli.shipped_copies import ShippedCopies
from samhandling.config import Settings
from samhandling.interactions.published_definitions import publish
from samhandling.services import platform_of
from samhandling.store.database import is_sqlite
from samhandling.store.planner_statistics import refresh_statistics

__all__ = ["IMPORT_TAG_SYSTEM", "import_bundles"]


def import_bundles(
    settings: Settings,
    paths: list[Path],
    *,
    skip_existing: bool = False,
    bulk: bool = False,
    jobs: int = 1,
) -> Counter[str]:
    """Import every Bundle (NDJSON resources in bulk with `bulk`, in `jobs` processes);
    prints the count of entries per resource type and outcome."""
    files = import_order(paths)
    if jobs < 1 or (jobs > 1 and not bulk):
        raise OperatorError("--jobs needs --bulk and a number of at least 1")
    platform = platform_of(settings.services)
    engine = open_database(settings.database_url)
    shipped = ShippedCopies(
        engine,
        platform.shipped_definitions(),
        publish_them=settings.publish_definitions and not bulk,
    )
    target = Destination(engine, settings.base_url, platform.write_rules, shipped)
    counts: Counter[str] = Counter()
    failures = 0
    try:
        if bulk:
            failures = _bulk(settings, target, files, counts, skip_existing, jobs)
        else:
            with Progress(transient=False) as progress:
                task = progress.add_task("importing", total=len(files))
                for path in files:
                    failures += import_file(target, path, counts, skip_existing)
                    progress.advance(task)
        refresh_statistics(engine)  # searches right after a bulk import plan for its data
    finally:
        engine.dispose()
    _report(counts, len(files), failures, skip_existing, bulk)
    if failures:
        raise typer.Exit(1)
    return counts


def _bulk(
    settings: Settings,
    target: Destination,
    files: list[Path],
    counts: Counter[str],
    skip_existing: bool,
    jobs: int,
) -> int:
    """The bulk path (`cli/bulk_import.py`); the number of chunks and Bundles that failed.
    The shipped definitions are published here, once, when the files held copies."""
    if jobs > 1 and is_sqlite(target.engine):
        raise OperatorError("SQLite has one writer at a time: --jobs > 1 needs PostgreSQL")
    failures = 0
    with Progress(transient=False) as progress:
        task = progress.add_task("importing (bulk)", total=None)

        def done(outcome: Outcome) -> None:
            nonlocal failures
            counts.update(outcome.counts)
            failures += outcome.failures
            written = sum(n for key, n in counts.items() if not key.startswith("\0"))
            progress.update(task, description=f"importing (bulk): {written} resources")

        worker_args = (settings.database_url, settings.base_url, settings.services, skip_existing)
        job = Job(jobs, ChunkLoader(target, skip_existing), worker_args, done)
        load_in_phases(job, files)
        progress.update(task, total=1, completed=1)
    if counts[SHIPPED] and settings.publish_definitions:
        publish(target.engine, target.shipped.shipped)
    return failures


def _report(
    counts: Counter[str], files: int, failures: int, skip_existing: bool, bulk: bool
) -> None:
    existing = counts.pop(EXISTING, 0)
    platform_copies = counts.pop(SHIPPED, 0)
    total = sum(counts.values())
    failed = "failed chunks and bundles" if bulk else "failed bundles"
    typer.echo(f"imported {total} resources from {files} files ({failures} {failed})")
    if skip_existing:
        typer.echo(f"  already there (skipped): {existing}")
    if platform_copies:
        typer.echo(f"  shipped with the platform (published, copies skipped): {platform_copies}")
    for resource_type, count in sorted(counts.items()):
        typer.echo(f"  {resource_type}: {count}")
