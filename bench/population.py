"""A benchmark database seeded with the demo population, fast, with service data for all.

    python -m bench.population --patients 100000 --for-all medication-list --jobs 2 \
        --database postgresql://postgres@127.0.0.1:5432/pllbench

The people and resources are the demo's (`samhandling demo`: `population_bundles` and the
services' demo hooks, the same seed gives the same data), with two differences:

* `--for-all SERVICE` (repeatable): every citizen gets that service's demo data. The
  demo gives a medication list to about 10-40% of the citizens; a benchmark of 100,000
  lists would need some 600,000 citizens. The service's hook is asked again with other
  seeds (seed + k * 1,000,003, at most 200 times) until it gives the person something, so
  each list is one the demo could have made; whom a hook never serves (the personas,
  children for lab histories) stays without.
* Loading: the database must hold no Patient. Every demo entry is a PUT at a fixed id;
  `samhandling demo` runs it through the transaction code, where an update first reads the
  current version (`SELECT … FOR UPDATE`) and every read makes the index buffer flush:
  one COPY per table for each entry (about 160 resources/s at 1,000 citizens). In an empty
  database each of these PUTs is a create, so this loader creates each resource with its
  id (`interactions.bulk_load.create_all`, as `samhandling import --bulk` does: the
  services' write rules applied, trusted like the demo's loader) in one transaction per
  Bundle, and the index rows go in with one COPY per table per Bundle; `--jobs` processes
  share the Bundles (the register first, alone).
  The load is round trips (one insert per resource), so on a busy machine more jobs
  than cores help. `--resume` continues an interrupted load of the same arguments: a
  Bundle whose resources are there is skipped (each Bundle is one transaction, so its
  ids are all there or none; without `--resume` a stored id fails the load).

Nothing here changes a service's rules: it only chooses whom the demo hooks serve.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import gc
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

TRIES = 200
SEED_STEP = 1_000_003
Hook = Callable[[Any, Any, int, dt.date], list[dict[str, Any]]]


def log(message: str) -> None:
    print(f"[population {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def for_everyone(hook: Hook) -> Hook:
    """The hook, asked with other seeds until it gives the person something."""

    def everyone(person: Any, register: Any, seed: int, anchor: dt.date) -> list[dict[str, Any]]:
        for k in range(TRIES):
            found = hook(person, register, seed + k * SEED_STEP, anchor)
            if found:
                return found
        return []

    return everyone


def demo_hooks(for_all: Sequence[str]) -> list[Hook]:
    """The platform's demo hooks, those of the services named in `for_all` for everyone."""
    from samhandling.services import default_platform

    services = default_platform().services
    unknown = set(for_all) - {s.name for s in services if s.demo is not None}
    if unknown:
        raise SystemExit(f"no service with demo data named {', '.join(sorted(unknown))}")
    return [
        for_everyone(s.demo) if s.name in for_all else s.demo
        for s in services
        if s.demo is not None
    ]


def write_bundles(patients: int, seed: int, hooks: list[Hook], directory: Path) -> list[Path]:
    """The population's Bundles as files of resources (the register's first)."""
    from samhandling.demo import population_bundles

    paths = []
    for number, bundle in enumerate(population_bundles(patients, seed, hooks=hooks)):
        path = directory / f"{number:06d}.json"
        path.write_bytes(orjson.dumps([e["resource"] for e in bundle["entry"]]))
        paths.append(path)
    return paths


_worker: dict[str, Any] = {}


def _start_worker(url: str, resume: bool) -> None:
    from samhandling.services import default_platform
    from samhandling.store.database import make_engine

    _worker["engine"] = make_engine(url, pool_size=1)
    _worker["rules"] = default_platform().write_rules
    _worker["resume"] = resume


def load_file(path: Path) -> Counter[str]:
    """Create every resource of one file at its id, in one transaction
    (`interactions.bulk_load.create_all`, shared with `samhandling import --bulk`: run
    again when PostgreSQL broke a deadlock by aborting it, as jobs lock the register's
    shared rows, e.g. a document's author Organization, in their own order). With
    `--resume` a file whose ids are stored already was loaded before an interruption."""
    from samhandling.interactions.bulk_load import AlreadyStored, create_all

    resources = orjson.loads(path.read_bytes())
    try:
        return create_all(_worker["engine"], resources, _worker["rules"])
    except AlreadyStored:
        if not _worker["resume"]:
            raise
        return Counter({"(already loaded)": len(resources)})


def load(url: str, paths: list[Path], jobs: int, resume: bool) -> Counter[str]:
    """The register's file here, then the others in `jobs` processes."""
    _start_worker(url, resume)
    counts = load_file(paths[0])
    _worker["engine"].dispose()
    context = multiprocessing.get_context("spawn")
    done, started = 0, time.monotonic()
    with concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker, initargs=(url, resume)
    ) as pool:
        for result in pool.map(load_file, paths[1:], chunksize=4):
            counts += result
            done += 1
            if done % max(1, len(paths) // 20) == 0:
                total = sum(counts.values())
                rate = total / (time.monotonic() - started)
                log(f"{done}/{len(paths) - 1} Bundles, {total} resources, {rate:.0f}/s")
    return counts


def populate(
    url: str,
    patients: int,
    seed: int,
    for_all: Sequence[str],
    jobs: int,
    resume: bool = False,
    bundles: Path | None = None,
) -> dict[str, Any]:
    """Migrate, check that the database is empty (unless resuming), generate and load
    (`bundles`: a directory that keeps the generated files, reused when it holds some)."""
    from samhandling.store.database import make_engine
    from samhandling.store.planner_statistics import refresh_statistics
    from samhandling.store.schema_migrations import upgrade

    engine = make_engine(url, pool_size=1)
    try:
        upgrade(engine)
        if not resume:
            _require_empty(engine)
        work = bundles or Path(tempfile.mkdtemp(prefix="bench-population-"))
        try:
            started = time.monotonic()
            paths = sorted(work.glob("*.json")) if bundles else []
            if not paths:
                work.mkdir(parents=True, exist_ok=True)
                paths = write_bundles(patients, seed, demo_hooks(for_all), work)
            gc.collect()
            generated = time.monotonic()
            log(f"{len(paths)} Bundles ready in {generated - started:.0f} s")
            counts = load(url, paths, jobs, resume)
            loaded = time.monotonic()
        finally:
            if bundles is None:
                shutil.rmtree(work, ignore_errors=True)
        refresh_statistics(engine)
    finally:
        engine.dispose()
    total = sum(counts.values()) - counts["(already loaded)"]
    return {
        "patients": patients,
        "seed": seed,
        "for_all": list(for_all),
        "jobs": jobs,
        "resources": total,
        "by_type": dict(sorted(counts.items())),
        "generate_s": round(generated - started, 1),
        "load_s": round(loaded - generated, 1),
        "resources_per_s": round(total / max(loaded - generated, 1e-9), 1),
    }


def _require_empty(engine: Any) -> None:
    from sqlalchemy import func, select

    from samhandling.store.schema import resource

    with engine.connect() as connection:
        count = connection.execute(
            select(func.count()).where(resource.c.resource_type == "Patient")
        ).scalar_one()
    if count:
        raise SystemExit(f"the database already holds {count} Patients: use an empty one")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.population", description=__doc__)
    parser.add_argument("--patients", type=int, required=True, help="citizens to generate")
    parser.add_argument("--database", required=True, help="an empty database's URL")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--for-all", action="append", default=[], help="a service whose demo data all get"
    )
    parser.add_argument("--jobs", type=int, default=2, help="loading processes (2)")
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted load (same arguments)"
    )
    parser.add_argument(
        "--bundles",
        type=Path,
        help="keep the generated Bundles in this directory; reuse them if it holds some "
        "(generating 100,000 citizens takes minutes: a resumed load need not do it again)",
    )
    args = parser.parse_args(argv)
    summary = populate(
        args.database, args.patients, args.seed, args.for_all, args.jobs, args.resume,
        args.bundles,
    )  # fmt: skip
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
