"""The write path's CPU per entry, in process: `python -m bench.write_path --database URL …`.

`full` and `compare` measure a server end to end, where HTTP, the load generator and a
noisy host blur a change of a few per cent (bench/RESULTS.md, 2026-12-07: the same commit's
measurement ingest gave 55 and 86 ms of server CPU per Bundle an hour apart). Here Bundles
go straight to `process_bundle` in this process, on a real database, as a system with the
platform's write rules and access policy (every entry validated, judged, indexed and
audited as through the API), and the thread's own CPU (`time.thread_time`) per entry is
the measure: no server, no HTTP, no load generator, no waiting counted.

With `--instructions` the figure is the instructions the measured Bundles ran, counted by
valgrind's callgrind (`valgrind --tool=callgrind`, only inside `itertools.accumulate`'s C
function, through which the measured loop runs and which nothing else here calls): the
same code on the same data gives the same count within ≈ 0.5% whatever the host's minute,
where the thread's CPU moves ±20% on a noisy host. Each run takes about a minute (the
interpreter under valgrind), so use few Bundles (`--bundles 3`) and rounds (`--rounds 2`).
Instructions are not time (cache misses and waits do not count): they decide between two
versions of the same Python, not how fast a host is. `--profile FILE` keeps callgrind's
profile: `callgrind_annotate FILE` gives the instructions by C function (the interpreter's
loop, but also a library's regular expressions, string joins, hashing), and `--tree=caller`
who called them.

Workloads: `measurements` (the batch Bundles of `workloads/measurements.py`, 100 vital signs
of 10 citizens, conditional creates) and `synthea` (transaction Bundles of the shared
Synthea patients, each once). With `--old COMMIT` the old commit's `src/` (extracted as
`compare` does) and this tree's run in turn, each round in a process of its own, the order
alternating; the result is each round's ratio old/new of CPU per entry and their median.
The database is written (use a scratch copy, e.g. `createdb -T ingest20_demo scratch`).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))
WORKLOADS = ("measurements", "synthea")
CITIZENS = 20  # made when the database has no Patient to measure
COUNTED = "accumulate_next"  # the C function of `itertools.accumulate`, which runs the loop


def measure(url: str, workload: str, bundles: int, warm_up: int = 2) -> dict[str, Any]:
    """CPU per entry of `bundles` Bundles of `workload` after `warm_up` more, this process."""
    from samhandling.interactions.bundle import process_bundle
    from samhandling.interactions.policy_guard import PolicyGuard
    from samhandling.services import default_platform
    from samhandling.store.database import make_engine

    engine = make_engine(url)
    platform = default_platform()
    rules, policy = platform.write_rules, platform.policy_rules()
    principal = _system()

    def run(body: bytes) -> int:
        guard = PolicyGuard(principal, service_rules=policy)
        answer = process_bundle(
            engine, orjson.loads(body), "http://bench/fhir", guard=guard, rules=rules
        )
        failed = [e for e in answer["entry"] if e["response"]["status"][:1] not in "12"]
        if failed:
            raise RuntimeError(f"{len(failed)} entries failed: {failed[0]['response']}")
        return len(answer["entry"])

    source = _bodies(engine, workload, run)
    try:
        for _ in range(warm_up):
            run(next(source))
        gc.collect()
        bodies = [next(source) for _ in range(bundles)]
        started = time.thread_time()
        # through `itertools.accumulate`, a C function nothing else here calls: callgrind
        # counts the instructions inside it only (`--instructions`, `COUNTED`)
        totals = itertools.accumulate(bodies, lambda total, body: total + run(body), initial=0)
        entries = list(totals)[-1]
        spent = time.thread_time() - started
    finally:
        engine.dispose()
    return {"workload": workload, "bundles": bundles, "entries": entries,
            "us_per_entry": spent / entries * 1e6}  # fmt: skip


def counted(
    arguments: list[str], env: dict[str, str], profile: str | None = None
) -> dict[str, Any]:
    """This module run with `arguments` under callgrind: its result, with the instructions
    per entry in place of the thread's CPU (meaningless under valgrind). `profile`: a file
    to keep callgrind's profile in (`callgrind_annotate FILE`: the instructions by C
    function), else none is kept."""
    command = callgrind_command([sys.executable, "-m", "bench.write_path", *arguments], profile)
    env = {**env, "PYTHONHASHSEED": "0"}  # the same dict and set orders every run
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    del result["us_per_entry"]
    result["instructions_per_entry"] = collected_instructions(done.stderr) / result["entries"]
    return result


def callgrind_command(program: list[str], profile: str | None = None) -> list[str]:
    """`program` under callgrind, counting inside `COUNTED` only; its profile kept in
    `profile` (a path) or thrown away."""
    return ["valgrind", "--tool=callgrind", f"--toggle-collect={COUNTED}",
            f"--callgrind-out-file={profile or os.devnull}", *program]  # fmt: skip


def collected_instructions(report: str) -> int:
    """The instructions callgrind counted, from what it printed at the end."""
    found = re.search(r"Collected : (\d+)", report)
    if found is None:
        raise RuntimeError(f"no count in callgrind's report: {report[-500:]}")
    return int(found[1])


def _system() -> Any:
    from samhandling.auth import Principal
    from samhandling.auth.scopes import parse_scopes

    return Principal(kind="system", issuer="https://bench.local", subject=None,
                     scopes=parse_scopes("system/*.cruds"))  # fmt: skip


def _bodies(engine: Any, workload: str, run: Any) -> Iterator[bytes]:
    """The workload's Bundles, as JSON, one after the other."""
    if workload == "synthea":
        from bench import synthea

        shared, patients = synthea.bundle_files(SHARED / "synthea")
        for path in shared:
            run(synthea.read_bytes(path))
        for path in patients:
            yield synthea.read_bytes(path)
        raise RuntimeError("the Synthea patients are all written")
    from bench.workloads.measurements import MeasurementSource

    citizens = _citizens(engine, run)
    source = MeasurementSource({"patients": citizens}, random.Random(time.time_ns()))
    while (request := source.next_request()) is not None and request.body is not None:
        yield request.body
    raise RuntimeError("the measurement source ran dry")


def _citizens(engine: Any, run: Any) -> list[str]:
    """Ids of Patients to measure: the stored ones, or CITIZENS made now."""
    from sqlalchemy import select

    from samhandling.store.schema import resource

    query = select(resource.c.resource_id).where(
        resource.c.resource_type == "Patient", resource.c.deleted.is_(False)
    )
    with engine.connect() as connection:
        found = list(connection.execute(query.limit(1000)).scalars())
    if len(found) >= 10:
        return found
    entries = [
        {"resource": {"resourceType": "Patient", "id": f"bench-citizen-{n}"},
         "request": {"method": "PUT", "url": f"Patient/bench-citizen-{n}"}}
        for n in range(CITIZENS)
    ]  # fmt: skip
    run(orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
    return [f"bench-citizen-{n}" for n in range(CITIZENS)]


def interleaved(args: argparse.Namespace) -> dict[str, Any]:
    """The old commit's and this tree's CPU per entry, round by round, in turn."""
    from bench.compare import extract_source, resolve

    old = resolve(args.old)
    with tempfile.TemporaryDirectory(prefix="bench-write-path-") as work:
        sources = {"old": extract_source(old, Path(work)), "new": REPO / "src"}
        rounds = []
        for number in range(args.rounds):
            order = ("old", "new") if number % 2 == 0 else ("new", "old")
            found = {side: _side(sources[side], args) for side in order}
            ratio = found["old"][_measure(args)] / found["new"][_measure(args)]
            rounds.append({"order": order, **found, "old_over_new": ratio})
    ratios = [r["old_over_new"] for r in rounds]
    return {"old": old[:7], "workload": args.workload, "measure": _measure(args),
            "rounds": rounds, "median_old_over_new": statistics.median(ratios)}  # fmt: skip


def _measure(args: argparse.Namespace) -> str:
    return "instructions_per_entry" if args.instructions else "us_per_entry"


def _arguments(args: argparse.Namespace) -> list[str]:
    """The command line of one measuring run of this module."""
    return ["--database", args.database, "--workload", args.workload,
            "--bundles", str(args.bundles)]  # fmt: skip


def _side(source: Path, args: argparse.Namespace) -> dict[str, Any]:
    arguments = _arguments(args)
    env = {**os.environ, "PYTHONPATH": f"{source}{os.pathsep}{REPO}"}
    if args.instructions:
        return counted(arguments, env)
    command = [sys.executable, "-m", "bench.write_path", *arguments]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True, help="a scratch database (it is written)")
    parser.add_argument("--workload", choices=WORKLOADS, default="measurements")
    parser.add_argument("--bundles", type=int, default=20, help="measured Bundles per run")
    parser.add_argument("--old", help="a commit to run in turn with this tree")
    parser.add_argument("--rounds", type=int, default=6, help="with --old: runs of each")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions with callgrind instead of timing")  # fmt: skip
    parser.add_argument("--profile", help="with --instructions (no --old): keep callgrind's"
                        " profile in this file, for callgrind_annotate")  # fmt: skip
    args = parser.parse_args()
    if args.profile and (args.old or not args.instructions):
        parser.error("--profile goes with --instructions, without --old")
    if args.old:
        result = interleaved(args)
        unit = "instructions" if args.instructions else "µs"
        for row in result["rounds"]:
            old, new = row["old"][_measure(args)], row["new"][_measure(args)]
            print(f"{'/'.join(row['order']):>8}: old {old:10.1f}  new {new:10.1f} {unit} per"
                  f" entry  old/new {row['old_over_new']:.4f}", file=sys.stderr)  # fmt: skip
        print(f"median old/new: {result['median_old_over_new']:.4f}", file=sys.stderr)
    elif args.instructions:
        result = counted(_arguments(args), dict(os.environ), args.profile)
    else:
        result = measure(args.database, args.workload, args.bundles)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
