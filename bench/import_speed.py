"""`samhandling import` of an export's NDJSON, plain against `--bulk --jobs N` (issue #25):

    nice -n 10 python -m bench.import_speed --patients 30 --jobs 2

1. a source PostgreSQL database gets the Synthea shared files ('0-…') and the first
   `--patients` patient files by name (`samhandling import --bulk --jobs N`: Bundle files
   go through the transaction code either way, the jobs share them);
2. `samhandling export` writes it as NDJSON;
3. the NDJSON is imported into a new empty database plainly and into another with
   `--bulk --jobs N`, each a subprocess as an operator runs it, timed (wall clock and
   CPU), in `--rounds` rounds whose order alternates (plain first, then bulk first);
4. the count per type of every target is compared with the source's (in SQL).

Prints a JSON summary (medians over the rounds, and each round): resources, seconds,
resources/s and resources per CPU second of the importer (its processes; PostgreSQL's
not counted) of both imports, the ratio, and the load average (1, 5, 15 min) before and
after each (the machine is shared: say so).
The databases (`<--databases>_src`, `_plain`, `_bulk`) are dropped at the end unless
`--keep`. Exit status 1 when a count differs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import psycopg

from bench import synthea

CLI = [sys.executable, "-m", "samhandling.cli"]


def recreate(server_url: str, name: str) -> str:
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


def drop(server_url: str, name: str) -> None:
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def store_counts(url: str) -> Counter[str]:
    query = "SELECT resource_type, count(*) FROM resource WHERE NOT deleted GROUP BY 1"
    with psycopg.connect(url) as connection:
        return Counter({t: int(n) for t, n in connection.execute(query).fetchall()})


def load() -> list[float]:
    return [round(x, 1) for x in os.getloadavg()]


def _children_cpu() -> float:
    """User and system CPU seconds of the finished subprocesses (with the import's worker
    processes, which it waits for; PostgreSQL's backends are not counted)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_import(url: str, data_dir: Path, paths: list[Path], *flags: str) -> dict[str, Any]:
    """`samhandling import` as a subprocess; its wall time and the load around it."""
    command = [*CLI, "import", "--database", url, "--data-dir", str(data_dir), *flags]
    before, started, cpu = load(), time.monotonic(), _children_cpu()
    subprocess.run([*command, *map(str, paths)], check=True, stdout=subprocess.DEVNULL)
    seconds, cpu = time.monotonic() - started, _children_cpu() - cpu
    resources = sum(store_counts(url).values())
    return {
        "flags": " ".join(flags) or "(plain)",
        "resources": resources,
        "seconds": round(seconds, 1),
        "resources_per_s": round(resources / seconds, 1),
        "importer_cpu_s": round(cpu, 1),
        "resources_per_importer_cpu_s": round(resources / cpu, 1),
        "load_before": before,
        "load_after": load(),
    }


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    shared, patients = synthea.bundle_files(Path(args.synthea))
    names = {k: f"{args.databases}_{k}" for k in ("src", "plain", "bulk")}
    urls = {k: recreate(args.server_url, name) for k, name in names.items()}
    jobs = ["--bulk", "--jobs", str(args.jobs)]
    timed_import(urls["src"], work / "src", [*shared, *patients[: args.patients]], *jobs)
    subprocess.run(
        [*CLI, "export", str(work / "ndjson"), "--database", urls["src"]],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    source = store_counts(urls["src"])
    rounds, same = [], True
    for number in range(args.rounds):  # the order alternates: plain first, then bulk first
        ran = {}
        for kind in ("plain", "bulk") if number % 2 == 0 else ("bulk", "plain"):
            url = recreate(args.server_url, names[kind])
            flags = jobs if kind == "bulk" else []
            ran[kind] = timed_import(url, work / kind, [work / "ndjson"], *flags)
            same = same and store_counts(url) == source
        rounds.append(ran)
    if not args.keep:
        for name in names.values():
            drop(args.server_url, name)
    medians = {
        kind: {
            key: statistics.median(r[kind][key] for r in rounds)
            for key in ("seconds", "resources_per_s", "resources_per_importer_cpu_s")
        }
        for kind in ("plain", "bulk")
    }
    return {
        "patients": args.patients,
        "source_resources": sum(source.values()),
        "counts_equal": same,
        "median": medians,
        "speedup": round(
            medians["bulk"]["resources_per_s"] / medians["plain"]["resources_per_s"], 1
        ),
        "rounds": rounds,
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_speed", description=__doc__)
    parser.add_argument("--patients", type=int, default=30, help="Synthea patient files (30)")
    parser.add_argument("--jobs", type=int, default=2, help="processes of the bulk import (2)")
    parser.add_argument("--synthea", default=str(synthea.DEFAULT_DIR))
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--databases", default="import_speed")
    parser.add_argument("--rounds", type=int, default=3, help="plain and bulk imports (3)")
    parser.add_argument("--keep", action="store_true", help="keep the three databases")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="import-speed-") as work:
        summary = measure(args, Path(work))
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    return 0 if summary["counts_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
