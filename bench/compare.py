"""Two commits measured interleaved: `python -m bench.run compare --old A --new B …`.

A change to the hot path is judged by old against new; two `full` runs minutes apart meet
two different machines when the host is shared and noisy (bench/RESULTS.md, 2026-12-03).
Here, as in `audit-cost`, both servers run at once on one database, pinned to the same
core: one runs the code of the old commit, one the new (each commit's `src/` extracted
with `git archive` into the work directory; nothing of the repository's checkout
changes), and the load generator drives them in turn, in short rounds per workload,
alternating which goes first. Each round's ratio new/old comes from runs seconds apart;
the result is the median of the rounds' ratios, with the server CPU per request of each.
After the rounds, `samhandling audit verify` checks the hash chain both servers wrote.
Both commits must share the database schema (no migration in between).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

import orjson

from bench import audit_cost
from bench.config import Config
from bench.engine_run import EngineRun
from bench.log import log
from bench.procstats import load_average
from bench.server import REPO, ServerHandle, start_server
from bench.workloads.base import Prepared

WORKLOADS = ("read", "create", "crud", "update", "search")
MODES = ("old", "new")
RESULTS_DIR = REPO / "bench" / "results" / "compare"


def resolve(commit: str) -> str:
    """The full hash of `commit` (a name git understands)."""
    done = subprocess.run(
        ["git", "rev-parse", "--verify", f"{commit}^{{commit}}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def extract_source(commit: str, into: Path) -> Path:
    """`src/` of `commit` under `into`; the directory to put on the server's PYTHONPATH."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "src"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def measure(cfg: Config, engine: str, commits: dict[str, str], rounds: int) -> dict:
    """Load a database, start the old and the new server, run the rounds; the result."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    run_id = f"{stamp}-{commits['old'][:7]}-vs-{commits['new'][:7]}-{engine}-compare"
    work_dir = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    about = {"commit": commits["new"][:7], "dirty": False}
    engine_run = EngineRun(cfg, engine, run_id, work_dir, about)
    servers: dict[str, ServerHandle] = {}
    started = dt.datetime.now(dt.UTC)
    try:
        for mode in MODES:
            source = extract_source(commits[mode], work_dir / f"code-{mode}")
            servers[mode] = start_server(
                "samhandling",
                engine_run.db.url,
                work_dir=work_dir / mode,
                workers=cfg.workers,
                cpus=engine_run.server_cpus,
                source=source,
            )
        engine_run.server = servers["new"]
        engine_run._setup()
        audit_cost.load_patients(engine_run)
        engine_run._refresh_statistics()
        prepared = audit_cost.prepare(engine_run, cfg.workloads)
        audit_cost.restart_all(engine_run, servers, "new")
        measured = [_round(engine_run, servers, prepared, n) for n in range(rounds)]
        chain = verify_chain(engine_run.db.url)
    finally:
        for server in servers.values():
            server.stop()
        engine_run.db.drop()
        if not cfg.keep_work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    return {
        **audit_cost.run_record(
            engine_run, cfg, run_id=run_id, mode="compare", engine=engine, started=started
        ),
        "old": commits["old"],
        "new": commits["new"],
        "config": audit_cost.run_config(cfg, rounds),
        "rounds": measured,
        "audit_verify": chain,
        "summary": summarise(measured, cfg.workloads),
    }


def verify_chain(database_url: str) -> str:
    """`samhandling audit verify` on the benchmark database: its report line."""
    done = subprocess.run(
        [sys.executable, "-m", "samhandling.cli", "audit", "verify", "--database", database_url],
        capture_output=True,
        text=True,
        env={**os.environ, "SAMHANDLING_LOG_LEVEL": "WARNING"},
    )
    line = (done.stdout.strip() or done.stderr.strip()).splitlines()[-1:]
    report = line[0] if line else f"exit {done.returncode}"
    log(f"audit verify: {report}")
    if done.returncode != 0:
        raise RuntimeError(f"the audit trail does not verify: {report}")
    return report


def _round(
    engine_run: EngineRun,
    servers: dict[str, ServerHandle],
    prepared: dict[str, Prepared],
    number: int,
) -> dict[str, Any]:
    """One round: every workload against both servers, the old first in even rounds."""
    order = list(MODES) if number % 2 == 0 else list(reversed(MODES))
    measured: dict[str, Any] = {"round": number + 1, "order": order, "workloads": {}}
    for name, workload in prepared.items():
        pair = {}
        for mode in order:
            module = {"read": "reads", "search": "search"}.get(name, "crud")
            result = engine_run.generate_simple(name, module, workload, servers[mode])
            pair[mode] = {
                **audit_cost.essentials(result),
                "load_average": result["load_average_before"],
            }
        ratio = _ratio(pair["new"]["throughput_rps"], pair["old"]["throughput_rps"])
        measured["workloads"][name] = {**pair, "ratio": ratio}
        log(
            f"round {number + 1} {name}: new {pair['new']['throughput_rps']:.0f}"
            f" / old {pair['old']['throughput_rps']:.0f} req/s = {ratio:.2f}×"
            f" (load average {load_average()[0]:.1f})"
        )
    return measured


def _ratio(new: float, old: float) -> float:
    return round(new / old, 3) if old else 0.0


def summarise(rounds: list[dict[str, Any]], workloads: list[str]) -> dict[str, Any]:
    """Per workload: the median, lowest and highest ratio new/old, total over total, and
    the median server CPU per request of each."""
    summary = {}
    for name in workloads:
        pairs = [r["workloads"][name] for r in rounds if name in r["workloads"]]
        if not pairs:
            continue
        ratios = [p["ratio"] for p in pairs]
        totals = {m: sum(p[m]["requests"] for p in pairs) for m in MODES}
        cpu = {
            m: statistics.median(p[m]["server_cpu_ms_per_request"] or 0.0 for p in pairs)
            for m in MODES
        }
        p99 = {m: statistics.median(p[m]["latency_ms"]["p99"] for p in pairs) for m in MODES}
        summary[name] = {
            "median_ratio": round(statistics.median(ratios), 3),
            "lowest_ratio": min(ratios),
            "highest_ratio": max(ratios),
            "total_ratio": _ratio(totals["new"], totals["old"]),
            "median_throughput_rps": {
                m: statistics.median(p[m]["throughput_rps"] for p in pairs) for m in MODES
            },
            "median_server_cpu_ms_per_request": cpu,
            "median_p99_ms": p99,
            "load_average": [p[m]["load_average"][0] for p in pairs for m in MODES],
            "errors": sum(p[m]["errors"] for p in pairs for m in MODES),
        }
    return summary


def markdown(result: dict[str, Any]) -> str:
    """A table for bench/RESULTS.md (written there by hand, with its reading)."""
    config = result["config"]
    lines = [
        f"Run `{result['run_id']}` ({result['engine']}; {config['rounds']} rounds of"
        f" {config['duration_s']:.0f} s per server and workload, {config['clients']} clients;"
        f" old `{result['old'][:7]}`, new `{result['new'][:7]}`; {result['audit_verify']}):",
        "",
        "| workload | new/old, median | lowest–highest | total/total | req/s old → new |"
        " server CPU ms/request old → new | p99 ms old → new | load average |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in result["summary"].items():
        rps, cpu, p99 = (
            s["median_throughput_rps"],
            s["median_server_cpu_ms_per_request"],
            s["median_p99_ms"],
        )
        loads = s["load_average"]
        lines.append(
            f"| {name} | **{s['median_ratio']:.2f}×** | {s['lowest_ratio']:.2f}–"
            f"{s['highest_ratio']:.2f} | {s['total_ratio']:.2f} |"
            f" {rps['old']:.0f} → {rps['new']:.0f} | {cpu['old']:.3f} → {cpu['new']:.3f} |"
            f" {p99['old']:.1f} → {p99['new']:.1f} | {min(loads):.1f}–{max(loads):.1f} |"
        )
    return "\n".join(lines)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("compare", help="an old and a new commit, interleaved rounds")
    p.add_argument("--old", required=True, help="the commit measured as before")
    p.add_argument("--new", default="HEAD", help="the commit measured as after (HEAD)")
    p.add_argument("--engine", default="postgresql", help="postgresql or sqlite (or both)")
    p.add_argument("--rounds", type=int, default=6, help="rounds (6)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per run (10)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per run (1)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    p.add_argument("--ingest-patients", type=int, default=10, help="patients loaded (10)")
    p.add_argument("--workloads", default="read,create,crud", help="read,create,crud,update,search")
    p.add_argument("--record", action="store_true", help="write bench/results/compare/")
    p.add_argument("--keep-work-dir", action="store_true")


def main(args: argparse.Namespace) -> int:
    commits = {"old": resolve(args.old), "new": resolve(args.new)}
    status = 0
    for engine in (e.strip() for e in args.engine.split(",")):
        cfg = Config(mode="compare", engines=[engine])
        cfg.duration_s, cfg.warmup_s, cfg.clients = args.duration, args.warmup, args.clients
        cfg.ingest_patients, cfg.keep_work_dir = args.ingest_patients, args.keep_work_dir
        cfg.workloads = [w.strip() for w in args.workloads.split(",")]
        if (os.cpu_count() or 1) >= 2:  # the harness runs on the load generator's core
            os.sched_setaffinity(0, {int(c) for c in cfg.load_cpus.split(",")})
        result = measure(cfg, engine, commits, args.rounds)
        if args.record:
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            path = RESULTS_DIR / f"{result['run_id']}.json"
            path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
            log(f"recorded {path.relative_to(REPO)}")
        print(markdown(result))
        if sum(s["errors"] for s in result["summary"].values()):
            status = 1
    return status
