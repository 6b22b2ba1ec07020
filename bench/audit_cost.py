"""What the audit trail costs, measured interleaved: `python -m bench.run audit-cost …`.

Issue #5's goal is audited throughput at least 80% of unaudited. Two full runs one after
the other (`full`, then `full --without-audit`) meet two different machines when the host
is shared and noisy: on 2026-12-03 the bare-endpoint gauge moved between 2,000 and 5,800
req/s from minute to minute, and whichever run met the slower minutes lost. Here both
servers run at once on one database, pinned to the same core — one with the trail, one
without it (the server's benchmark-only switch) — and the load generator drives them in
turn, in short rounds, for each workload; the order alternates (ABBA) so that a drifting
machine favours neither. Each round gives a ratio from two runs seconds apart; the result
is the median of the rounds' ratios (and, as a check, total audited over total unaudited
requests). The idle server costs nothing: it waits on its socket.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench.config import Config
from bench.engine_run import EngineRun
from bench.load_runs import workload_line
from bench.log import log
from bench.procstats import git_commit, machine_info
from bench.server import REPO, ServerHandle, start_server
from bench.workloads import crud, ingest, reads, search
from bench.workloads.base import Prepared

WORKLOADS = ("read", "create", "crud")
GOAL = 0.8
RESULTS_DIR = REPO / "bench" / "results" / "audit-cost"


def measure(cfg: Config, rounds: int) -> dict[str, Any]:
    """Load a database, start both servers, run the rounds; the result."""
    commit = git_commit(REPO)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    run_id = f"{stamp}-{commit['commit'] or 'nocommit'}-postgresql-audit-cost"
    work_dir = Path(tempfile.mkdtemp(prefix="bench-audit-cost-"))
    engine_run = EngineRun(cfg, "postgresql", run_id, work_dir, commit)
    servers: dict[str, ServerHandle] = {}
    started = dt.datetime.now(dt.UTC)
    try:
        for mode, audit in (("audited", True), ("unaudited", False)):
            servers[mode] = start_server(
                "samhandling",
                engine_run.db.url,
                work_dir=work_dir / mode,
                workers=cfg.workers,
                cpus=engine_run.server_cpus,
                audit=audit,
            )
        engine_run.server = servers["audited"]
        engine_run._setup()
        load_patients(engine_run)
        prepared = prepare(engine_run, cfg.workloads)
        restart_all(engine_run, servers, "audited")
        measured = [_round(engine_run, servers, prepared, n) for n in range(rounds)]
    finally:
        for server in servers.values():
            server.stop()
        engine_run.db.drop()
        if not cfg.keep_work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    return {
        **run_record(
            engine_run, cfg, run_id=run_id, mode="audit-cost", engine="postgresql", started=started
        ),
        **commit,
        "config": run_config(cfg, rounds),
        "rounds": measured,
        "summary": summarise(measured, cfg.workloads),
    }


def run_record(
    engine_run: EngineRun,
    cfg: Config,
    *,
    run_id: str,
    mode: str,
    engine: str,
    started: dt.datetime,
) -> dict[str, Any]:
    """The fields every interleaved run's result file starts with (audit-cost, compare,
    export-load); each adds its commits, config, rounds and summary."""
    return {
        "schema": 1,
        "run_id": run_id,
        "mode": mode,
        "engine": engine,
        "database": engine_run.db_version,
        "date": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "pinning": engine_run.pinning(),
        "setup": engine_run.setup,
    }


def run_config(cfg: Config, rounds: int) -> dict[str, Any]:
    """The settings an interleaved run was made with."""
    return {
        "rounds": rounds,
        "clients": cfg.clients,
        "duration_s": cfg.duration_s,
        "warmup_s": cfg.warmup_s,
        "ingest_patients": cfg.ingest_patients,
        "workers": cfg.workers,
    }


def restart_all(engine_run: EngineRun, servers: dict[str, ServerHandle], main: str) -> None:
    """Both servers afresh for the rounds, `main` the run's server again: the one that
    loaded the population carried its heap (dearer collections) into every round — an
    A/A compare of one commit put it at 0.95× and +3.5% CPU per read (bench/RESULTS.md,
    2026-12-06)."""
    for mode, server in servers.items():
        servers[mode] = server.restarted()
    engine_run.server = servers[main]


def load_patients(engine_run: EngineRun) -> None:
    """The Synthea patients the reads and updates use, through the audited server."""
    assert engine_run.server is not None
    result = engine_run.load_runs.generate(
        "ingest",
        "ingest",
        ingest.prepare(engine_run.ingest_files),
        engine_run.server,
        clients=engine_run.cfg.ingest_clients,
        duration_s=engine_run.cfg.ingest_duration_s,
        max_requests=len(engine_run.ingest_files),
        warmup_s=0,
    )
    if result["errors"]:
        raise RuntimeError(f"ingest failed: {result['error_samples'][:2]}")
    log(workload_line("ingest", result))


def prepare(engine_run: EngineRun, workloads: list[str]) -> dict[str, Prepared]:
    """Each workload's requests, sampled from the loaded database; reads kept off the
    resources the CRUD mix deletes."""
    prepared = _prepare_each(engine_run, workloads)
    if "read" in prepared and "crud" in prepared:  # rounds alternate: keep reads off deletes
        deletable = prepared["crud"].params["deletable"]
        gone = {(rtype, rid) for rtype, ids in deletable.items() for rid in ids}
        read = prepared["read"]
        keys = [key for key in read.params["keys"] if tuple(key) not in gone]
        notes = {**read.notes, "keys": len(keys)}
        prepared["read"] = Prepared({**read.params, "keys": keys}, notes)
    return prepared


def _prepare_each(engine_run: EngineRun, workloads: list[str]) -> dict[str, Prepared]:
    prepared: dict[str, Prepared] = {}
    with engine_run._sa_engine() as engine:
        for name in workloads:
            if name == "read":
                prepared[name] = reads.prepare(engine, per_type=engine_run.cfg.read_keys_per_type)
            elif name == "create":
                prepared[name] = crud.prepare(engine, crud.CREATE_ONLY, pool=50)
            elif name == "crud":
                prepared[name] = crud.prepare(engine, crud.CRUD_MIX)
            elif name == "update":  # compare only: the mix's PUT alone
                prepared[name] = crud.prepare(engine, crud.UPDATE_ONLY)
            elif name == "search":  # compare only (not in audit-cost's WORKLOADS)
                prepared[name] = search.prepare(engine, patients=engine_run.cfg.search_patients)
            else:
                raise SystemExit(f"interleaved rounds run {', '.join(WORKLOADS)}, not {name}")
    return prepared


def _round(
    engine_run: EngineRun,
    servers: dict[str, ServerHandle],
    prepared: dict[str, Prepared],
    number: int,
) -> dict[str, Any]:
    """One round: every workload against both servers, audited first in even rounds."""
    order = ["audited", "unaudited"] if number % 2 == 0 else ["unaudited", "audited"]
    measured: dict[str, Any] = {"round": number + 1, "order": order, "workloads": {}}
    for name, workload in prepared.items():
        pair = {}
        for mode in order:
            result = engine_run.generate_simple(
                name, "reads" if name == "read" else "crud", workload, servers[mode]
            )
            pair[mode] = essentials(result)
        ratio = _ratio(pair["audited"]["throughput_rps"], pair["unaudited"]["throughput_rps"])
        measured["workloads"][name] = {**pair, "ratio": ratio}
        log(
            f"round {number + 1} {name}: audited {pair['audited']['throughput_rps']:.0f}"
            f" / unaudited {pair['unaudited']['throughput_rps']:.0f} req/s = {ratio:.0%}"
        )
    return measured


def essentials(result: dict[str, Any]) -> dict[str, Any]:
    """What a round keeps of one load generator run."""
    resources = result.get("resources") or {}
    return {
        "requests": result["requests"],
        "errors": result["errors"],
        "throughput_rps": round(result["throughput_rps"], 1),
        "latency_ms": result["latency_ms"],
        "server_cpu_cores": resources.get("server_cpu_cores"),
        "server_cpu_ms_per_request": resources.get("server_cpu_ms_per_request"),
        "database_cpu_cores": resources.get("database_cpu_cores"),
        "commits_per_request": (
            (result.get("database_activity") or {}).get("per_request") or {}
        ).get("xact_commit"),
    }


def _ratio(audited: float, unaudited: float) -> float:
    return round(audited / unaudited, 3) if unaudited else 0.0


def summarise(rounds: list[dict[str, Any]], workloads: list[str]) -> dict[str, Any]:
    """Per workload: the median, lowest and highest round ratio, and total over total."""
    summary = {}
    for name in workloads:
        pairs = [r["workloads"][name] for r in rounds if name in r["workloads"]]
        if not pairs:
            continue
        ratios = [p["ratio"] for p in pairs]
        totals = {m: sum(p[m]["requests"] for p in pairs) for m in ("audited", "unaudited")}
        cpu = {
            m: statistics.median(p[m]["server_cpu_ms_per_request"] or 0.0 for p in pairs)
            for m in ("audited", "unaudited")
        }
        median = round(statistics.median(ratios), 3)
        summary[name] = {
            "median_ratio": median,
            "lowest_ratio": min(ratios),
            "highest_ratio": max(ratios),
            "total_ratio": _ratio(totals["audited"], totals["unaudited"]),
            "median_server_cpu_ms_per_request": cpu,
            "errors": sum(p[m]["errors"] for p in pairs for m in ("audited", "unaudited")),
            "goal": GOAL,
            "met": median >= GOAL,
        }
    return summary


def markdown(result: dict[str, Any]) -> str:
    """A table for bench/RESULTS.md (written there by hand, with its reading)."""
    lines = [
        f"Run `{result['run_id']}` ({result['config']['rounds']} rounds of"
        f" {result['config']['duration_s']:.0f} s per server and workload,"
        f" {result['config']['clients']} clients):",
        "",
        "| workload | median ratio | lowest–highest | total / total | server CPU ms per"
        " request, audited / unaudited (medians) | goal met |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for name, s in result["summary"].items():
        cpu = s["median_server_cpu_ms_per_request"]
        lines.append(
            f"| {name} | **{s['median_ratio']:.0%}** | {s['lowest_ratio']:.0%}–"
            f"{s['highest_ratio']:.0%} | {s['total_ratio']:.0%} |"
            f" {cpu['audited']:.2f} / {cpu['unaudited']:.2f} | {'yes' if s['met'] else 'no'} |"
        )
    return "\n".join(lines)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("audit-cost", help="audited vs unaudited servers, interleaved rounds")
    p.add_argument("--rounds", type=int, default=6, help="rounds (6)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per run (10)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per run (1)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    p.add_argument("--ingest-patients", type=int, default=10, help="patients loaded (10)")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="read,create,crud")
    p.add_argument("--record", action="store_true", help="write bench/results/audit-cost/")
    p.add_argument("--output", help="also write the result JSON here")
    p.add_argument("--keep-work-dir", action="store_true")


def main(args: argparse.Namespace) -> int:
    cfg = Config(mode="audit-cost", engines=["postgresql"])
    cfg.duration_s, cfg.warmup_s, cfg.clients = args.duration, args.warmup, args.clients
    cfg.ingest_patients, cfg.keep_work_dir = args.ingest_patients, args.keep_work_dir
    cfg.workloads = [w.strip() for w in args.workloads.split(",")]
    if (os.cpu_count() or 1) >= 2:  # the harness runs on the load generator's core
        os.sched_setaffinity(0, {int(c) for c in cfg.load_cpus.split(",")})
    result = measure(cfg, args.rounds)
    data = orjson.dumps(result, option=orjson.OPT_INDENT_2)
    if args.record:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{result['run_id']}.json"
        path.write_bytes(data)
        log(f"recorded {path.relative_to(REPO)}")
    if args.output:
        Path(args.output).write_bytes(data)
    print(markdown(result))
    errors = sum(s["errors"] for s in result["summary"].values())
    return 1 if errors else 0
