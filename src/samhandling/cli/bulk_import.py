"""`samhandling import --bulk [--jobs N]`: a migration's NDJSON into a new instance, fast.

The NDJSON files are read in chunks of `CHUNK_LINES` lines; each chunk's resources are
created at their ids in one transaction (`interactions.bulk_load.create_all`: the services'
write rules apply, the index rows go in with one COPY per table per chunk). A chunk with a
resource that is refused, or with an id that is already stored, is refused whole and named
(file and lines); nothing of it is written and the import goes on with the next chunk
(exit status 1 at the end). Batch and transaction Bundles in the files are processed as
Bundles (`process_bundle`), as without `--bulk`; any other Bundle (a stored document or
collection: an export's `Bundle.ndjson`) is a resource like the others and created at its
id (without `--bulk` it is refused: only a batch or transaction can be processed). Copies
of the shipped definitions are left out and the platform's own published.

Load order: `--jobs` processes share the chunks of one phase and a phase starts when the
one before it is done, because write rules read the resources some references name (a
registry DocumentReference's Patient, its author Organization and its Binary; a Folder's
DocumentReferences): the '0-' files first (as without `--bulk`), then the register and the
document content (`REGISTER_TYPES`), then every other type, then List (Folders, medication
lists). A file's type is its name's (`Observation.ndjson`, `Observation-2.ndjson`); a file
named otherwise goes with the other types.
"""

from __future__ import annotations

import bz2
import concurrent.futures
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import typer

from samhandling.cli.import_files import (
    SHIPPED,
    Destination,
    import_file,
    import_one,
    phase_of,
    runs,
    tag_for_skip_existing,
)
from samhandling.cli.shipped_copies import ShippedCopies
from samhandling.fhir import json_codec
from samhandling.fhir.outcome import FhirError
from samhandling.interactions.bulk_load import create_all
from samhandling.services import platform_of
from samhandling.store.database import make_engine

CHUNK_LINES = 500


class Chunk(NamedTuple):
    """NDJSON lines of one file (`first_line` is the number of the first, from 1), or a
    whole Bundle file (`lines` None)."""

    path: Path
    first_line: int
    lines: list[bytes] | None

    def where(self) -> str:
        if self.lines is None:
            return self.path.name
        return f"{self.path.name} lines {self.first_line}-{self.first_line + len(self.lines) - 1}"


class Outcome(NamedTuple):
    """What a chunk imported (per type, and `SHIPPED` copies left out) and how many of its
    parts failed."""

    counts: Counter[str]
    failures: int


def chunks_of(path: Path, size: int) -> Iterator[Chunk]:
    """The file's chunks: NDJSON by `size` lines (blank lines skipped), else the file."""
    if not path.name.endswith((".ndjson", ".ndjson.bz2")):
        yield Chunk(path, 1, None)
        return
    raw = bz2.decompress(path.read_bytes()) if path.suffix == ".bz2" else path.read_bytes()
    lines: list[bytes] = []
    first = 1
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        if not lines:
            first = number
        lines.append(line)
        if len(lines) >= size:
            yield Chunk(path, first, lines)
            lines = []
    if lines:
        yield Chunk(path, first, lines)


class ChunkLoader:
    """Imports chunks into `target` (in the importing process or in a worker)."""

    def __init__(self, target: Destination, skip_existing: bool) -> None:
        self.target = target
        self.skip_existing = skip_existing

    def load(self, chunk: Chunk) -> Outcome:
        counts: Counter[str] = Counter()
        if chunk.lines is None:
            return Outcome(counts, import_file(self.target, chunk.path, counts, self.skip_existing))
        try:
            items = [json_codec.parse(line) for line in chunk.lines]
        except ValueError as exc:
            typer.echo(f"{chunk.where()}: not imported: not JSON: {exc}", err=True)
            return Outcome(counts, 1)
        failures = 0
        for run in runs(items, len(items), requests_only=True):
            if isinstance(run, dict):
                failures += self._bundle(run, counts, chunk.path)
            else:
                failures += self._create(run, counts, chunk)
        return Outcome(counts, failures)

    def _bundle(self, bundle: dict[str, Any], counts: Counter[str], path: Path) -> int:
        prepared = tag_for_skip_existing(bundle) if self.skip_existing else bundle
        prepared, skipped = self.target.shipped.left_out(prepared)
        counts[SHIPPED] += skipped
        if skipped and not prepared["entry"]:
            return 0
        return import_one(self.target, prepared, counts, path)

    def _create(
        self, resources: list[dict[str, object]], counts: Counter[str], chunk: Chunk
    ) -> int:
        kept = [r for r in resources if not self.target.shipped.is_copy(r)]
        counts[SHIPPED] += len(resources) - len(kept)
        try:
            counts.update(create_all(self.target.engine, kept, self.target.rules))
        except FhirError as exc:
            typer.echo(f"{chunk.where()}: not imported ({exc.status}): {exc.message}", err=True)
            return 1
        return 0


_worker: dict[str, ChunkLoader] = {}


def _start_worker(
    database_url: str, base_url: str, services: tuple[str, ...], skip_existing: bool
) -> None:
    platform = platform_of(services)
    engine = make_engine(database_url, pool_size=1)
    shipped = ShippedCopies(engine, platform.shipped_definitions(), publish_them=False)
    target = Destination(engine, base_url, platform.write_rules, shipped)
    _worker["loader"] = ChunkLoader(target, skip_existing)


def _load_in_worker(chunk: Chunk) -> Outcome:
    return _worker["loader"].load(chunk)


class Job(NamedTuple):
    """How the chunks run: `jobs` worker processes started with `worker_args`, or (jobs 1)
    `loader` in this process; `done` is told each chunk's outcome."""

    jobs: int
    loader: ChunkLoader
    worker_args: tuple[str, str, tuple[str, ...], bool]
    done: Callable[[Outcome], None]


def load_in_phases(job: Job, files: list[Path]) -> None:
    """Every file's chunks, phase after phase (module doc)."""
    phases = sorted({phase_of(path) for path in files})
    if job.jobs <= 1:
        for phase in phases:
            for chunk in _chunks(files, phase):
                job.done(job.loader.load(chunk))
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        job.jobs, mp_context=context, initializer=_start_worker, initargs=job.worker_args
    ) as pool:
        for phase in phases:
            _run_bounded(pool, _chunks(files, phase), job.jobs * 2, job.done)


def _chunks(files: list[Path], phase: int) -> Iterator[Chunk]:
    for path in files:
        if phase_of(path) == phase:
            yield from chunks_of(path, CHUNK_LINES)


def _run_bounded(
    pool: concurrent.futures.Executor,
    chunks: Iterable[Chunk],
    in_flight: int,
    done: Callable[[Outcome], None],
) -> None:
    """Run every chunk in `pool`, at most `in_flight` queued at once (the chunks are read
    as they are needed, not all into memory); returns when all are done."""
    pending: set[concurrent.futures.Future[Outcome]] = set()
    for chunk in chunks:
        if len(pending) >= in_flight:
            finished, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in finished:
                done(future.result())
        pending.add(pool.submit(_load_in_worker, chunk))
    for future in concurrent.futures.as_completed(pending):
        done(future.result())
