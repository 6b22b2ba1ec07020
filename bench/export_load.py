"""Clinical reads while a bulk export runs: `python -m bench.run export-load …`.

Issue #25: clinical read latency during an export stays within 2× of its idle value. One
PostgreSQL database is loaded with Synthea patients through a server that runs its
background workers (so its `$export` worker is live, paced as configured); then, in
rounds that alternate the order (idle first, then export first, ...), the `read` workload
(GET Type/id, as in `full`) runs once with the server idle and once while export jobs
run: before that window three system exports are kicked off, so the worker has work for
the whole window, and whatever is left is cancelled after it. The result is, per round
and as the median over rounds, p50/p95/p99 of both and their ratio, with how many
resources the exports wrote during the windows and the load average of the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.audit_cost import load_patients, run_config, run_record
from bench.config import Config
from bench.engine_run import EngineRun
from bench.log import log
from bench.procstats import git_commit
from bench.server import REPO, ServerHandle, start_server
from bench.workloads import reads
from bench.workloads.base import Prepared

GOAL = 2.0
JOBS_PER_WINDOW = 3
RESULTS_DIR = REPO / "bench" / "results" / "export-load"


def measure(cfg: Config, rounds: int, rows_per_second: float) -> dict[str, Any]:
    """Load a database, start the server with its export worker, run the rounds."""
    commit = git_commit(REPO)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    run_id = f"{stamp}-{commit['commit'] or 'nocommit'}-postgresql-export-load"
    work_dir = Path(tempfile.mkdtemp(prefix="bench-export-load-"))
    engine_run = EngineRun(cfg, "postgresql", run_id, work_dir, commit)
    server: ServerHandle | None = None
    started = dt.datetime.now(dt.UTC)
    env = {
        "SAMHANDLING_BACKGROUND_WORKERS": "1",
        "SAMHANDLING_EXPORT_ROWS_PER_SECOND": str(rows_per_second),
    }
    try:
        server = start_server(
            "samhandling",
            engine_run.db.url,
            work_dir=work_dir / "server",
            workers=cfg.workers,
            cpus=engine_run.server_cpus,
            env=env,
        )
        engine_run.server = server
        engine_run._setup()
        load_patients(engine_run)
        with engine_run._sa_engine() as engine:
            prepared = reads.prepare(engine, per_type=cfg.read_keys_per_type)
        measured = [_round(engine_run, server, prepared, n) for n in range(rounds)]
    finally:
        if server is not None:
            server.stop()
        engine_run.db.drop()
        if not cfg.keep_work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    return _result(engine_run, cfg, started, rounds, rows_per_second, measured)


def _result(
    engine_run: EngineRun,
    cfg: Config,
    started: dt.datetime,
    rounds: int,
    rows_per_second: float,
    measured: list[dict[str, Any]],
) -> dict[str, Any]:
    run_id = engine_run.run_id
    return {
        **run_record(
            engine_run, cfg, run_id=run_id, mode="export-load", engine="postgresql", started=started
        ),
        **engine_run.commit,
        "config": {**run_config(cfg, rounds), "export_rows_per_second": rows_per_second},
        "rounds": measured,
        "summary": summarise(measured),
    }


def _round(
    engine_run: EngineRun, server: ServerHandle, prepared: Prepared, number: int
) -> dict[str, Any]:
    """One round: reads idle and reads during exports, idle first in even rounds."""
    order = ["idle", "export"] if number % 2 == 0 else ["export", "idle"]
    measured: dict[str, Any] = {"round": number + 1, "order": order}
    for phase in order:
        load_before = os.getloadavg()[0]
        jobs: list[str] = []
        # the exports start with the measured phase (after the harness waited for an idle
        # server and the warm-up)
        starter = _starter(server, jobs) if phase == "export" else None
        result = engine_run.generate_simple("read", "reads", prepared, server, starter)
        measured[phase] = {
            "requests": result["requests"],
            "errors": result["errors"],
            "throughput_rps": round(result["throughput_rps"], 1),
            "latency_ms": result["latency_ms"],
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        if jobs:
            measured[phase]["exported"] = _finish(server, jobs)
    idle, export = measured["idle"]["latency_ms"], measured["export"]["latency_ms"]
    measured["ratio"] = {q: _ratio(export[q], idle[q]) for q in ("p50", "p95", "p99")}
    log(
        f"round {number + 1}: read p50 idle {idle['p50']:.2f} ms, during export "
        f"{export['p50']:.2f} ms ({measured['ratio']['p50']:.2f}x); p99 "
        f"{idle['p99']:.2f} / {export['p99']:.2f} ms; exported "
        f"{measured['export']['exported']}"
    )
    return measured


def _starter(server: ServerHandle, jobs: list[str]) -> Callable[[], None]:
    def start() -> None:
        jobs.extend(_kick_off(server))

    return start


def _kick_off(server: ServerHandle) -> list[str]:
    """Queue system exports (the worker runs them one after the other); status URLs."""
    headers = {**server.headers(), "Prefer": "respond-async"}
    jobs = []
    for _ in range(JOBS_PER_WINDOW):
        answer = httpx.get(f"{server.base_url}/$export", headers=headers, timeout=30)
        answer.raise_for_status()
        jobs.append(answer.headers["Content-Location"])
    return jobs


def _finish(server: ServerHandle, jobs: list[str]) -> dict[str, Any]:
    """Cancel what is left; the jobs completed in the window, the resources they wrote,
    and the progress of those still running."""
    completed, written, running = 0, 0, []
    # every status first: once a job is cancelled the worker goes on to the next one
    statuses = [httpx.get(url, headers=server.headers(), timeout=30) for url in jobs]
    for status in statuses:
        if status.status_code == 200:
            completed += 1
            written += sum(entry["count"] for entry in status.json()["output"])
        else:
            running.append(status.headers.get("X-Progress", str(status.status_code)))
    for url in jobs:
        httpx.delete(url, headers=server.headers(), timeout=30)
    return {
        "jobs_completed": completed,
        "resources_in_completed_jobs": written,
        "unfinished": running,
    }


def _ratio(during: float, idle: float) -> float:
    return round(during / idle, 3) if idle else 0.0


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over rounds of the latencies and of the round ratios; the goal on p50."""
    summary: dict[str, Any] = {}
    for phase in ("idle", "export"):
        summary[phase] = {
            q: round(statistics.median(r[phase]["latency_ms"][q] for r in rounds), 3)
            for q in ("p50", "p95", "p99")
        }
    summary["ratio"] = {
        q: round(statistics.median(r["ratio"][q] for r in rounds), 3) for q in ("p50", "p95", "p99")
    }
    summary["errors"] = sum(r[p]["errors"] for r in rounds for p in ("idle", "export"))
    summary["goal"] = GOAL
    summary["met"] = summary["ratio"]["p50"] <= GOAL
    return summary


def markdown(result: dict[str, Any]) -> str:
    """A table for bench/RESULTS.md (written there by hand, with its reading)."""
    s = result["summary"]
    loads = [r[p]["load_average"][0] for r in result["rounds"] for p in ("idle", "export")]
    lines = [
        f"Run `{result['run_id']}` ({result['config']['rounds']} rounds of"
        f" {result['config']['duration_s']:.0f} s per phase, {result['config']['clients']}"
        f" clients, {result['config']['ingest_patients']} Synthea patients, export paced at"
        f" {result['config']['export_rows_per_second']:.0f} resources/s; load average"
        f" {min(loads):.1f}–{max(loads):.1f}):",
        "",
        "| read latency (medians over rounds) | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|",
    ]
    for phase in ("idle", "export"):
        lines.append(
            f"| {phase} | {s[phase]['p50']:.2f} | {s[phase]['p95']:.2f} | {s[phase]['p99']:.2f} |"
        )
    r = s["ratio"]
    during = f"**{r['p50']:.2f}×** | {r['p95']:.2f}× | {r['p99']:.2f}×"
    lines.append(f"| during export ÷ idle | {during} |")
    lines.append("")
    lines.append(f"Goal p50 ≤ {s['goal']:.0f}× idle: {'met' if s['met'] else 'missed'}.")
    return "\n".join(lines)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export-load", help="clinical reads idle vs during a bulk export")
    p.add_argument("--rounds", type=int, default=4, help="rounds (4)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per phase (10)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per phase (1)")
    p.add_argument("--clients", type=int, default=2, help="concurrent read clients (2)")
    p.add_argument("--ingest-patients", type=int, default=20, help="patients loaded (20)")
    p.add_argument(
        "--rows-per-second", type=float, default=2000.0, help="the export's pace (2000; 0: none)"
    )
    p.add_argument("--record", action="store_true", help="write bench/results/export-load/")
    p.add_argument("--output", help="also write the result JSON here")
    p.add_argument("--keep-work-dir", action="store_true")


def main(args: argparse.Namespace) -> int:
    cfg = Config(mode="export-load", engines=["postgresql"])
    cfg.duration_s, cfg.warmup_s, cfg.clients = args.duration, args.warmup, args.clients
    cfg.ingest_patients, cfg.keep_work_dir = args.ingest_patients, args.keep_work_dir
    if (os.cpu_count() or 1) >= 2:  # the harness runs on the load generator's core
        os.sched_setaffinity(0, {int(c) for c in cfg.load_cpus.split(",")})
    result = measure(cfg, args.rounds, args.rows_per_second)
    data = orjson.dumps(result, option=orjson.OPT_INDENT_2)
    if args.record:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{result['run_id']}.json"
        path.write_bytes(data)
        log(f"recorded {path.relative_to(REPO)}")
    if args.output:
        Path(args.output).write_bytes(data)
    print(markdown(result))
    return 1 if result["summary"]["errors"] else 0
