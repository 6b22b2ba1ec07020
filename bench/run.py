"""The benchmark harness: `python -m bench.run {quick,full,summary,replicate,audit-cost,compare}`.

The command line: `quick` and `full` run one engine after the other (bench/engine_run.py).
The result (JSON) goes to --output; with --record also to bench/results/ and a section of
bench/RESULTS.md, with profiles under bench/profiles/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench import audit_cost, compare, export_load, phases, report, service_workloads
from bench.config import QUICK, Config
from bench.db import DEFAULT_POSTGRES
from bench.engine_run import EngineRun
from bench.log import log
from bench.procstats import git_commit
from bench.server import REPO

BENCH_DIR = REPO / "bench"
RESULTS_DIR = BENCH_DIR / "results"


def run(cfg: Config) -> list[dict[str, Any]]:
    if cfg.pin and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {int(c) for c in cfg.load_cpus.split(",")})
    commit_info = git_commit(REPO)  # once: others may commit while the run goes on
    commit = commit_info["commit"] or "nocommit"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    results = []
    failed = []
    for engine in cfg.engines:
        variant = "" if cfg.audit else "-noaudit"
        run_id = f"{stamp}-{commit}-{engine}-{cfg.mode}{variant}"
        work_dir = Path(tempfile.mkdtemp(prefix=f"bench-{engine}-"))
        try:
            result = EngineRun(cfg, engine, run_id, work_dir, commit_info).run()
        except Exception as exc:  # the next engine still runs; the exit status says it
            failed.append(engine)
            log(f"{engine} run failed: {type(exc).__name__}: {exc}")
            for server_log in sorted(work_dir.glob("*.log")):
                log(f"{server_log.name}: {server_log.read_text()[-2000:]}")
            continue
        finally:
            if not cfg.keep_work_dir:
                shutil.rmtree(work_dir, ignore_errors=True)
        results.append(result)
        if cfg.record:
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            path = RESULTS_DIR / f"{run_id}.json"
            path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
            report.update_results_md(RESULTS_DIR, BENCH_DIR / "RESULTS.md")
            log(f"recorded {path.relative_to(REPO)} and updated bench/RESULTS.md")
        print(report.run_section(result))
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")
    if cfg.output:
        output = Path(cfg.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        data = results[0] if len(results) == 1 else {"runs": results}
        output.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        log(f"wrote {output}")
    return results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for mode, helptext in (
        ("quick", "a tiny run on SQLite (about half a minute), nothing recorded by default"),
        ("full", "the bounded full run (a few minutes per engine)"),
    ):
        p = sub.add_parser(mode, help=helptext)
        p.add_argument(
            "--engine",
            default="sqlite" if mode == "quick" else "postgresql,sqlite",
            help="comma-separated: postgresql, sqlite",
        )
        p.add_argument("--workers", type=int, help="server worker processes (default 1)")
        p.add_argument("--clients", type=int, help="concurrent clients (default 8; quick 4)")
        p.add_argument("--ingest-clients", type=int, help="concurrent ingest clients (2)")
        p.add_argument("--duration", type=float, help="seconds per workload (15; quick 3)")
        p.add_argument("--warmup", type=float, help="warm-up seconds per workload (3)")
        p.add_argument("--max-requests", type=int, help="request bound per workload")
        p.add_argument("--ingest-patients", type=int, help="patient Bundles to ingest (20)")
        p.add_argument(
            "--preload", help="directory of patient Bundles to load first, untimed (replicate)"
        )
        p.add_argument("--preload-patients", type=int, help="load only the first N of --preload")
        p.add_argument(
            "--workloads",
            help="comma-separated subset of ingest,read,search,create,crud; with --database: "
            "read, search and the services' workloads ("
            + ",".join(service_workloads.names())
            + ")",
        )
        p.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
        p.add_argument(
            "--without-audit",
            action="store_true",
            help="server without the audit trail (its benchmark-only switch): the trail's cost",
        )
        p.add_argument(
            "--background-workers",
            action="store_true",
            help="server with its background workers (production's default; off otherwise)",
        )
        p.add_argument(
            "--profile",
            choices=("missed", "always", "never"),
            help="py-spy profiles: for missed targets (full default), always, never",
        )
        p.add_argument("--profile-seconds", type=int)
        p.add_argument(
            "--phases",
            choices=sorted(phases.PHASE_SETS),
            help="the server's thread CPU by phase (bench/phases.py), per unit call",
        )
        p.add_argument(
            "--db-activity",
            action="store_true",
            help="sample pg_stat_activity during each workload: the database's backends by "
            "state and statement (bench/db_activity.py; PostgreSQL)",
        )
        p.add_argument(
            "--record",
            action="store_true",
            help="write bench/results/*.json, bench/RESULTS.md, bench/profiles/",
        )
        p.add_argument("--output", help="also write the result JSON here")
        p.add_argument("--synthea-dir")
        p.add_argument("--postgres-url", help=f"admin URL (default {DEFAULT_POSTGRES})")
        p.add_argument("--keep-work-dir", action="store_true")
        p.add_argument(
            "--database",
            help="run read/search workloads on this existing, loaded database (not dropped; "
            "no setup, ingest or ceilings), e.g. 10,000 replicated patients",
        )
        p.add_argument("--search-patients", type=int, help="patients sampled for searches (50)")
        p.add_argument(
            "--no-analyze",
            action="store_true",
            help="no ANALYZE after loading: the statistics are what the server keeps itself",
        )
    sub.add_parser("summary", help="rebuild bench/RESULTS.md from bench/results/*.json")
    rep = sub.add_parser("replicate", help="multiply the Synthea patients (see replicate_synthea)")
    rep.add_argument("args", nargs=argparse.REMAINDER)
    audit_cost.add_parser(sub)
    export_load.add_parser(sub)
    compare.add_parser(sub)
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    cfg = Config(mode=args.command, engines=[e.strip() for e in args.engine.split(",")])
    if args.command == "quick":
        for key, value in QUICK.items():
            setattr(cfg, key, value)
    overrides = {
        "workers": args.workers,
        "clients": args.clients,
        "ingest_clients": args.ingest_clients,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "max_requests": args.max_requests,
        "ingest_patients": args.ingest_patients,
        "profile": args.profile,
        "profile_seconds": args.profile_seconds,
        "phases": args.phases,
        "output": args.output,
        "synthea_dir": args.synthea_dir,
        "postgres_url": args.postgres_url,
        "preload_dir": args.preload,
        "preload_patients": args.preload_patients,
        "database": args.database,
        "search_patients": args.search_patients,
    }
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    if args.workloads:
        cfg.workloads = [w.strip() for w in args.workloads.split(",")]
    cfg.pin = not args.no_pin
    cfg.audit = not args.without_audit
    cfg.background_workers = args.background_workers
    cfg.record = args.record
    cfg.keep_work_dir = args.keep_work_dir
    cfg.db_activity = args.db_activity
    cfg.analyze = not args.no_analyze
    services = sorted(set(cfg.workloads) & set(service_workloads.names()))
    if services and not cfg.database:
        raise SystemExit(f"{', '.join(services)}: needs --database with the demo population")
    if cfg.database:
        cfg.engines = ["sqlite" if cfg.database.startswith("sqlite") else "postgresql"]
        readers = ("read", "search", *service_workloads.names())
        writing = sorted(set(cfg.workloads) - set(readers))
        if args.workloads and writing:
            raise SystemExit(f"--database runs {', '.join(readers)}, not {', '.join(writing)}")
        cfg.workloads = [w for w in cfg.workloads if w in readers]
    return cfg


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "summary":
        report.update_results_md(RESULTS_DIR, BENCH_DIR / "RESULTS.md")
        return 0
    if args.command == "replicate":
        from bench import replicate_synthea

        return replicate_synthea.main(args.args)
    if args.command == "audit-cost":
        return audit_cost.main(args)
    if args.command == "export-load":
        return export_load.main(args)
    if args.command == "compare":
        return compare.main(args)
    results = run(config_from_args(args))
    errors = sum(w.get("errors", 0) for r in results for w in r["workloads"].values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
