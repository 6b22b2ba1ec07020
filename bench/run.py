"""The benchmark harness: `python -m bench.run {quick,full,summary,replicate,audit-cost,compare}`.

One run per database engine. For each: a fresh database, `samhandling serve` in its own
process pinned to the server core (`taskset`), and then, each workload driven by the load
generator in its own process pinned to the other core:

1. setup: the two shared Synthea Bundles (`0-*`: organisations, practitioners);
2. ingest: Synthea patient transaction Bundles;
3. ceiling (b): the rows the ingest wrote, inserted again through the driver, in the same
   batches (one per Bundle) and one resource per transaction;
4. read by id, against the server and against the bare ceiling app (a) on the same stack;
5. search: typical searches; create: single POSTs; crud: the C10/R60/U25/D5 mix;
6. targets; for every missed one, a py-spy profile of the server under that workload.

The result (JSON) goes to --output; with --record also to bench/results/ and a section of
bench/RESULTS.md, with profiles under bench/profiles/.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import db_activity, phases, profiling, report, service_workloads, synthea
from bench.db import DEFAULT_POSTGRES, BenchDatabase
from bench.procstats import Sampler, git_commit, load_average, machine_info, wait_idle
from bench.server import REPO, ServerHandle, auth_enabled, pin_prefix, start_server
from bench.workloads import CRUD_TYPES, crud, ingest, reads, search
from bench.workloads.base import Prepared

BENCH_DIR = REPO / "bench"
RESULTS_DIR = BENCH_DIR / "results"
PROFILES_DIR = BENCH_DIR / "profiles"


@dataclass
class Config:
    mode: str
    engines: list[str]
    workers: int = 1
    clients: int = 8
    ingest_clients: int = 2
    duration_s: float = 15.0
    warmup_s: float = 3.0
    max_requests: int = 100_000
    ingest_patients: int = 20
    ingest_pick: str = "name"  # "name": first N by file name; "smallest": the N smallest
    ingest_duration_s: float = 120.0
    preload_dir: str | None = None  # patient Bundles loaded (untimed) before the workloads
    preload_patients: int | None = None
    read_keys_per_type: int = 1000
    search_patients: int = 50
    pin: bool = True
    server_cpus: str = "0"
    load_cpus: str = "1"
    profile: str = "missed"  # missed | always | never
    profile_seconds: int = 12
    phases: str | None = None  # a phase set of bench/phases.py: thread CPU by phase
    db_activity: bool = False  # sample pg_stat_activity during each workload (db_activity.py)
    record: bool = False
    output: str | None = None
    synthea_dir: str = str(synthea.DEFAULT_DIR)
    postgres_url: str = DEFAULT_POSTGRES
    seed: int = 8
    keep_work_dir: bool = False
    audit: bool = True  # False: the server's benchmark-only switch without the audit trail
    #: True: the server runs its background workers (production's default; the notifications
    #: worker's rounds), off by default so that `wait_idle` sees the server idle
    background_workers: bool = False
    database: str | None = None  # an existing, loaded database: no setup, ingest or ceilings
    analyze: bool = True  # False: no ANALYZE after loading (searches as in the first minute)
    workloads: list[str] = field(
        default_factory=lambda: ["ingest", "read", "search", "create", "crud"]
    )


QUICK = {
    "duration_s": 3.0,
    "warmup_s": 0.3,
    "max_requests": 40,
    "clients": 4,
    "ingest_patients": 2,
    "ingest_pick": "smallest",
    "ingest_duration_s": 60.0,
    "read_keys_per_type": 50,
    "search_patients": 5,
    "profile": "never",
}

TARGETS = {
    "crud_throughput": ("CRUD mix throughput", ">= 600 req/s", 600.0),
    "crud_p99": ("CRUD mix p99 latency", "< 50 ms", 50.0),
    "ingest_rate": ("transaction ingest", ">= 1,000 resources/s", 1000.0),
    "read_vs_ceiling": ("reads by id vs bare endpoint (a)", ">= 50%", 0.5),
    "ingest_vs_ceiling": ("ingest writes vs driver inserts (b), per Bundle", ">= 40%", 0.4),
    "create_vs_ceiling": ("single creates vs driver inserts (b), 1 per tx", ">= 40%", 0.4),
}
# The workload whose profile explains a missed target.
PROFILE_FOR = {
    "crud_throughput": "crud",
    "crud_p99": "crud",
    "ingest_rate": "ingest",
    "read_vs_ceiling": "read",
    "ingest_vs_ceiling": "ingest",
    "create_vs_ceiling": "create",
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class EngineRun:
    """Everything of one engine's run: database, server, workloads, ceilings, profiles."""

    def __init__(
        self, cfg: Config, engine: str, run_id: str, work_dir: Path, commit: dict[str, Any]
    ) -> None:
        self.cfg = cfg
        self.commit = commit
        self.engine = engine
        self.run_id = run_id
        self.work_dir = work_dir
        self.pinned = cfg.pin and (os.cpu_count() or 1) >= 2
        self.server_cpus = cfg.server_cpus if self.pinned else None
        self.load_cpus = cfg.load_cpus if self.pinned else None
        self.db = (
            BenchDatabase.existing(cfg.database, cfg.postgres_url)
            if cfg.database
            else BenchDatabase.fresh(
                engine, f"samhandling_bench_{os.getpid()}", work_dir, cfg.postgres_url
            )
        )
        self.ceiling_db: BenchDatabase | None = None
        self.db_version = self.db.version()
        self.server: ServerHandle | None = None
        self.workloads: dict[str, Any] = {}
        self.ceilings: dict[str, Any] = {}
        self.prepared: dict[str, Prepared] = {}
        self.modules = {"read": "reads", "create": "crud"}  # workload -> module, if not same
        self.setup: dict[str, Any] = {}
        self.ingest_files: list[Path] = []

    # -- processes ---------------------------------------------------------------------

    def _phases(self, workload: str, before: dict[str, Any]) -> list[dict[str, Any]]:
        """The thread CPU by phase of `workload`'s measured phase (`--phases`), logged."""
        if not self.cfg.phases:
            return []
        after = phases.snapshot(self._phases_file, settle_s=2 * phases.DUMP_SECONDS)
        rows = phases.per_unit(self.cfg.phases, before, after)
        if rows:
            log(f"{workload}: " + phases.describe(self.cfg.phases, rows, after["probe_cost_s"]))
        return rows

    def _server_env(self) -> dict[str, str]:
        env = {"SAMHANDLING_BACKGROUND_WORKERS": "1"} if self.cfg.background_workers else {}
        if self.cfg.phases:
            env.update(phases.server_env(self.cfg.phases, self._phases_file))
        return env

    @property
    def _phases_file(self) -> Path:
        return self.work_dir / "phases.json"

    def _sampler(self, pid: int, database: BenchDatabase) -> Sampler:
        name = database.name if database.engine == "postgresql" else None
        cpus = {int(c) for c in self.load_cpus.split(",")} if self.load_cpus else None
        return Sampler(pid, database=name, database_cpus=cpus).start()

    def _activity_sampler(self, server: ServerHandle) -> db_activity.ActivitySampler | None:
        """`--db-activity`: the database's backends sampled while `server` is measured."""
        if not self.cfg.db_activity or self.db.engine != "postgresql":
            return None
        if server.kind != "samhandling":
            return None
        return db_activity.ActivitySampler(self.db.url, self.db.name).start()

    def generate(
        self,
        workload: str,
        module: str,
        prepared: Prepared,
        server: ServerHandle,
        *,
        clients: int,
        duration_s: float,
        max_requests: int,
        warmup_s: float,
        cancel_at_deadline: bool = False,
        on_measuring: Callable[[], Any] | None = None,
    ) -> dict[str, Any]:
        """Run the load generator (own process, load core) against `server`.

        `on_measuring` is called when the measured phase starts (after data and warm-up).
        """
        spec = {
            "workload": workload,
            "workload_module": module,
            "host": "127.0.0.1",
            "port": server.port,
            "headers": server.headers(prepared.persona),
            "clients": clients,
            "duration_s": duration_s,
            "max_requests": max_requests,
            "warmup_s": warmup_s,
            "seed": self.cfg.seed,
            "request_timeout_s": 600 if module == "ingest" else 60,
            "cancel_at_deadline": cancel_at_deadline,
            "params": prepared.params,
        }
        spec_path = self.work_dir / f"spec-{workload}-{server.kind}.json"
        out_path = self.work_dir / f"out-{workload}-{server.kind}.json"
        spec_path.write_bytes(orjson.dumps(spec))
        # the old notification worker keeps the server busy (its rounds): wait a bounded time
        waited = wait_idle(server.pid, timeout=5 if self.cfg.background_workers else 300)
        if waited > 2:
            log(f"waited {waited:.0f} s for the server to finish earlier work")
        sampler = self._sampler(server.pid, self.db)
        activity_before = self.db.activity()
        load_before = load_average()
        command = [*pin_prefix(self.load_cpus), sys.executable, "-m", "bench.load_generator"]
        process = subprocess.Popen(
            [*command, str(spec_path), str(out_path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        measuring = process.stdout.readline().startswith("measuring")
        probed = phases.snapshot(self._phases_file) if self.cfg.phases else {}
        if measuring and on_measuring is not None:
            on_measuring()
        states = self._activity_sampler(server) if measuring else None
        try:
            _, stderr = process.communicate(timeout=duration_s + warmup_s + 900)
        finally:
            sampler.stop()
            database_states = states.stop() if states else None
        phase_rows = self._phases(workload, probed) if server.kind == "samhandling" else []
        if process.returncode != 0:
            raise RuntimeError(f"load generator failed for {workload}: {stderr[-3000:]}")
        result: dict[str, Any] = orjson.loads(out_path.read_bytes())
        result["target"] = server.kind
        if phase_rows:
            result["phases"] = phase_rows
        if database_states:
            result["database_states"] = database_states
            log(f"{workload}: " + db_activity.describe(database_states))
        usage = sampler.window(*result["window_monotonic"])
        if result["ok"]:
            usage["server_cpu_ms_per_request"] = round(
                1000 * usage["server_cpu_seconds"] / result["ok"], 3
            )
        if result["units"] and workload in ("ingest", "preload"):
            usage["server_cpu_ms_per_resource"] = round(
                1000 * usage["server_cpu_seconds"] / result["units"], 3
            )
        result["resources"] = usage
        if activity_before:
            time.sleep(1.5)  # let the backends publish their counters
            after = self.db.activity()
            delta = {k: after[k] - activity_before.get(k, 0) for k in after}
            requests = max(result["requests"] + result["warmup"]["requests"], 1)
            per_request = {k: round(v / requests, 2) for k, v in delta.items() if v}
            result["database_activity"] = {
                "totals": {k: v for k, v in delta.items() if "." not in k},
                "per_request": {k: v for k, v in per_request.items() if "." not in k},
                "per_request_by_table": {k: v for k, v in per_request.items() if "." in k},
                "note": "pg_stat_database of the benchmark database over the run, warm-up "
                "included (so is per_request); the counting connection adds a transaction",
            }
        result["load_average_before"] = load_before
        result["load_average_after"] = load_average()
        result["notes"] = prepared.notes
        del result["window_monotonic"]
        return result

    def driver_ceiling(
        self, tx_low: int, tx_high: int, batch: str | int, *, concurrency: int, **extra: Any
    ) -> dict[str, Any]:
        assert self.ceiling_db is not None
        spec = {
            "source_url": self.db.url,
            "target_url": self.ceiling_db.url,
            "tx_low": tx_low,
            "tx_high": tx_high,
            "batch": batch,
            "concurrency": concurrency,
            **extra,
        }
        spec_path = self.work_dir / f"ceiling-{batch}.json"
        out_path = self.work_dir / f"ceiling-{batch}-out.json"
        spec_path.write_bytes(orjson.dumps(spec))
        command = [*pin_prefix(self.server_cpus), sys.executable, "-m"]
        process = subprocess.Popen(
            [*command, "bench.ceilings.driver_insert", str(spec_path), str(out_path)],
            cwd=REPO,
            stderr=subprocess.PIPE,
        )
        sampler = self._sampler(process.pid, self.ceiling_db)
        _, stderr = process.communicate(timeout=1800)
        sampler.stop()
        if process.returncode != 0:
            raise RuntimeError(f"driver ceiling failed: {stderr.decode()[-3000:]}")
        result: dict[str, Any] = orjson.loads(out_path.read_bytes())
        window = sampler.window(*result.pop("window_monotonic"))
        result["process"] = {k.replace("server_", "process_"): v for k, v in window.items()}
        if result["resources"]:
            # The inserting process measures its own CPU exactly over the timed phase.
            result["process"]["process_cpu_ms_per_resource"] = round(
                1000 * result["process_cpu_seconds"] / result["resources"], 3
            )
        result["load_average_after"] = load_average()
        return result

    # -- the run -----------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        started = dt.datetime.now(dt.UTC)
        log(f"{self.engine}: database {self.db.name}, work dir {self.work_dir}")
        try:
            if not cfg.database:
                self.ceiling_db = BenchDatabase.fresh(
                    self.engine, f"{self.db.name}_ceiling", self.work_dir, cfg.postgres_url
                )
                self.ceiling_db.create_schema()
            self.server = start_server(
                "samhandling",
                self.db.url,
                work_dir=self.work_dir,
                workers=cfg.workers,
                cpus=self.server_cpus,
                audit=cfg.audit,
                env=self._server_env(),
            )
            if not cfg.database:
                self._setup()
                self._ingest()  # always: it loads the data the other workloads use
            if "read" in cfg.workloads:
                self._reads()
            if "search" in cfg.workloads:
                with self._sa_engine() as engine:
                    prepared = search.prepare(engine, patients=cfg.search_patients)
                self._run_simple("search", "search", prepared)
            for name, module in service_workloads.names().items():
                if name in cfg.workloads:  # a service's workload (`Service.benchmark`)
                    with self._sa_engine() as engine:
                        prepared = service_workloads.module(name).prepare(engine)
                    self._run_simple(name, module, prepared)
            if "create" in cfg.workloads:
                with self._sa_engine() as engine:
                    prepared = crud.prepare(engine, crud.CREATE_ONLY, pool=50)
                self._run_simple("create", "crud", prepared)
            if "crud" in cfg.workloads:
                with self._sa_engine() as engine:
                    prepared = crud.prepare(engine, crud.CRUD_MIX)
                self._run_simple("crud", "crud", prepared)
            targets = evaluate_targets(self.workloads, self.ceilings)
            profiles = self._profiles(targets)
        finally:
            if self.server is not None:
                self.server.stop()
            self.db.drop()
            if self.ceiling_db is not None:
                self.ceiling_db.drop()
        return self._result(started, targets, profiles)

    @contextlib.contextmanager
    def _sa_engine(self) -> Iterator[Any]:
        """A small SQLAlchemy engine on the benchmark database, to sample workload data."""
        engine = self.db.sa_engine()
        try:
            yield engine
        finally:
            engine.dispose()

    def _setup(self) -> None:
        assert self.server is not None
        shared, patients = synthea.bundle_files(Path(self.cfg.synthea_dir))
        if self.cfg.ingest_pick == "smallest":
            patients = sorted(patients, key=lambda p: p.stat().st_size)
        self.ingest_files = patients[: self.cfg.ingest_patients]
        start = time.monotonic()
        entries = 0
        with httpx.Client(timeout=900, headers=self.server.headers()) as client:
            for path in shared:
                body = synthea.read_bytes(path)
                response = client.post(
                    f"{self.server.base_url}",
                    content=body,
                    headers={"Content-Type": "application/fhir+json", "Prefer": "return=minimal"},
                )
                response.raise_for_status()
                statuses = [e["response"]["status"] for e in response.json()["entry"]]
                bad = [s for s in statuses if not s.startswith(("200", "201"))]
                if bad:
                    raise RuntimeError(f"setup bundle {path.name}: {len(bad)} entries failed")
                entries += len(statuses)
        seconds = time.monotonic() - start
        self.setup = {
            "bundles": [p.name for p in shared],
            "entries": entries,
            "seconds": round(seconds, 2),
            "note": "batch Bundles with conditional creates, loaded once before the workloads",
        }
        log(f"setup: {entries} shared entries in {seconds:.1f} s")
        if self.cfg.preload_dir:
            self._preload(Path(self.cfg.preload_dir))

    def _preload(self, directory: Path) -> None:
        """Load more patients (e.g. from bench.replicate_synthea) before the workloads."""
        assert self.server is not None
        _, files = synthea.bundle_files(directory)
        files = files[: self.cfg.preload_patients] if self.cfg.preload_patients else files
        log(f"preloading {len(files)} patient Bundles from {directory}")
        result = self.generate(
            "preload",
            "ingest",
            ingest.prepare(files, lazy=True),
            self.server,
            clients=self.cfg.ingest_clients,
            duration_s=24 * 3600,
            max_requests=len(files),
            warmup_s=0,
        )
        if result["errors"]:
            raise RuntimeError(f"preload failed: {result['error_samples'][:2]}")
        self.setup["preload"] = {
            "directory": str(directory),
            "bundles": result["ok"],
            "resources": result["units"],
            "seconds": round(result["measured_s"], 1),
            "resources_per_s": round(result["units_per_s"], 1),
        }
        log(f"preloaded {result['units']} resources in {result['measured_s']:.0f} s")
        self._refresh_statistics()

    def _refresh_statistics(self) -> None:
        """ANALYZE after loading, as `samhandling import` does: this machine's PostgreSQL
        runs without autovacuum, and without statistics the searches plan for empty
        tables (docs: bench/RESULTS.md, 2026-12-04)."""
        from samhandling.store.database import refresh_statistics

        if not self.cfg.analyze:
            log("no ANALYZE after loading (--no-analyze): only what the server refreshes")
            return
        with self._sa_engine() as engine:
            refresh_statistics(engine)

    def _ingest(self) -> None:
        assert self.server is not None
        cfg = self.cfg
        tx_low = self.db.max_tx()
        prepared = ingest.prepare(self.ingest_files)
        self.prepared["ingest"] = prepared
        result = self.generate(
            "ingest",
            "ingest",
            prepared,
            self.server,
            clients=cfg.ingest_clients,
            duration_s=cfg.ingest_duration_s,
            max_requests=len(self.ingest_files),
            warmup_s=0,
        )
        self.workloads["ingest"] = result
        log(_line("ingest", result))
        self._refresh_statistics()
        tx_high = self.db.max_tx()
        self.ceilings["write_bundle"] = self.driver_ceiling(
            tx_low,
            tx_high,
            "bundle",
            concurrency=cfg.ingest_clients,
            duration_s=cfg.ingest_duration_s,
        )
        log(_ceiling_line("driver ceiling, one Bundle per tx", self.ceilings["write_bundle"]))
        self.ceilings["write_single"] = self.driver_ceiling(
            tx_low,
            tx_high,
            1,
            concurrency=cfg.clients,
            types=list(CRUD_TYPES),
            duration_s=cfg.duration_s,
            max_resources=cfg.max_requests,
        )
        log(_ceiling_line("driver ceiling, one resource per tx", self.ceilings["write_single"]))

    def _reads(self) -> None:
        assert self.server is not None
        with self._sa_engine() as engine:
            prepared = reads.prepare(engine, per_type=self.cfg.read_keys_per_type)
        self.prepared["read"] = prepared
        self.workloads["read"] = self._generate_simple("read", "reads", prepared, self.server)
        log(_line("read", self.workloads["read"]))
        bare = start_server(
            "bare",
            self.db.url,
            work_dir=self.work_dir,
            workers=self.cfg.workers,
            cpus=self.server_cpus,
        )
        try:
            result = self._generate_simple("read", "reads", prepared, bare)
        finally:
            bare.stop()
        self.ceilings["read"] = result
        log(_line("read ceiling (bare app)", result))

    def _run_simple(self, name: str, module: str, prepared: Prepared) -> None:
        assert self.server is not None
        self.prepared[name] = prepared
        self.modules[name] = module
        self.workloads[name] = self._generate_simple(name, module, prepared, self.server)
        log(_line(name, self.workloads[name]))

    def _generate_simple(
        self, name: str, module: str, prepared: Prepared, server: ServerHandle
    ) -> dict[str, Any]:
        cfg = self.cfg
        return self.generate(
            name,
            module,
            prepared,
            server,
            clients=cfg.clients,
            duration_s=cfg.duration_s,
            max_requests=cfg.max_requests,
            warmup_s=cfg.warmup_s,
        )

    def _profiles(self, targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        cfg = self.cfg
        if cfg.profile == "never" or self.server is None:
            return []
        if profiling.py_spy() is None:
            log("py-spy is not installed: no profiles")
            return []
        wanted = list(self.prepared) if cfg.profile == "always" else []
        for target in targets:
            workload = PROFILE_FOR.get(target["id"], target["id"].split("_", 1)[0])
            missed = target["met"] is False
            chosen = cfg.profile == "always" or missed
            if chosen and workload in self.prepared and workload not in wanted:
                wanted.append(workload)
        root = (PROFILES_DIR if cfg.record else self.work_dir / "profiles") / self.run_id
        profiles = []
        for workload in wanted:
            path = root / f"{workload}.collapsed.txt"
            log(f"profiling the server under {workload} for {cfg.profile_seconds} s")
            error = self._profile_one(workload, path)
            if not path.exists():
                log(f"py-spy wrote no profile: {error[-500:]}")
                continue
            path = profiling.compact(path)
            summary = profiling.summarise(path, seconds=cfg.profile_seconds, processes=cfg.workers)
            summary_path = path.with_name(f"{workload}.summary.txt")
            title = f"{self.run_id}: server under '{workload}' ({self.engine})"
            profiling.write_summary(summary, summary_path, title)
            profiles.append(
                {
                    "workload": workload,
                    "collapsed": _relative(path),
                    "summary": _relative(summary_path),
                    **summary,
                }
            )
        return profiles

    def _profile_one(self, workload: str, path: Path) -> str:
        """Rerun `workload` with py-spy attached for the measured phase; py-spy's stderr."""
        assert self.server is not None
        cfg = self.cfg
        spies: list[subprocess.Popen[bytes]] = []
        pid = self.server.pid
        prepared = self.prepared[workload]
        if workload == "ingest":  # send the Bundles again, as often as the time allows
            prepared = Prepared({**prepared.params, "repeat": True}, prepared.notes)
        self.generate(
            workload,
            self.modules.get(workload, workload),
            prepared,
            self.server,
            clients=cfg.ingest_clients if workload == "ingest" else cfg.clients,
            duration_s=cfg.profile_seconds + 1,
            max_requests=10**9,
            warmup_s=1,
            cancel_at_deadline=True,
            on_measuring=lambda: spies.append(profiling.record(pid, cfg.profile_seconds, path)),
        )
        error = b""
        for spy in spies:
            _, error = spy.communicate(timeout=cfg.profile_seconds + 120)
        return error.decode(errors="replace")

    def _result(
        self, started: dt.datetime, targets: list[dict[str, Any]], profiles: list[dict[str, Any]]
    ) -> dict[str, Any]:
        cfg = self.cfg
        return {
            "schema": 1,
            "run_id": self.run_id,
            "mode": cfg.mode,
            "engine": self.engine,
            "database": self.db_version,
            "date": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **self.commit,
            "machine": machine_info(),
            "pinning": self.pinning(),
            "server": {
                "workers": cfg.workers,
                "command": "samhandling serve --workers N --database URL (bench/server.py)",
                "auth": auth_enabled(),
                "audit": cfg.audit,
            },
            "clients": {"default": cfg.clients, "ingest": cfg.ingest_clients},
            "config": asdict(cfg),
            "setup": self.setup,
            "workloads": self.workloads,
            "ceilings": self.ceilings,
            "ratios": ratios(self.workloads, self.ceilings),
            "targets": targets,
            "profiles": profiles,
        }

    def pinning(self) -> dict[str, Any]:
        if not self.pinned:
            return {"pinned": False, "note": "no pinning: every process on every core"}
        database = (
            f"the PostgreSQL backends of the benchmark database pinned to CPU {self.load_cpus}"
            " (postmaster, WAL writer and checkpointer are not pinned)"
            if self.engine == "postgresql"
            else "SQLite runs inside the server process"
        )
        return {
            "pinned": True,
            "server_cpus": self.server_cpus,
            "load_generator_cpus": self.load_cpus,
            "database": database,
            "driver_ceiling_cpus": self.server_cpus,
            "note": f"taskset: server (and the driver ceiling) on CPU {self.server_cpus}, "
            f"load generator and harness on CPU {self.load_cpus}",
        }


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def ratios(workloads: dict[str, Any], ceilings: dict[str, Any]) -> dict[str, float | None]:
    def ratio(a: Any, b: Any) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    return {
        "read_vs_bare": ratio(
            _get(workloads, "read", "throughput_rps"), _get(ceilings, "read", "throughput_rps")
        ),
        # The same comparison in server CPU per request (robust against a noisy machine):
        # the bare app's CPU cost of a read divided by ours.
        "read_cpu_vs_bare": ratio(
            _get(ceilings, "read", "resources", "server_cpu_ms_per_request"),
            _get(workloads, "read", "resources", "server_cpu_ms_per_request"),
        ),
        "ingest_vs_driver": ratio(
            _get(workloads, "ingest", "units_per_s"),
            _get(ceilings, "write_bundle", "resources_per_s"),
        ),
        "create_vs_driver": ratio(
            _get(workloads, "create", "throughput_rps"),
            _get(ceilings, "write_single", "resources_per_s"),
        ),
    }


def evaluate_targets(workloads: dict[str, Any], ceilings: dict[str, Any]) -> list[dict[str, Any]]:
    r = ratios(workloads, ceilings)
    values = {
        "crud_throughput": _get(workloads, "crud", "throughput_rps"),
        "crud_p99": _get(workloads, "crud", "latency_ms", "p99"),
        "ingest_rate": _get(workloads, "ingest", "units_per_s"),
        "read_vs_ceiling": r["read_vs_bare"],
        "ingest_vs_ceiling": r["ingest_vs_driver"],
        "create_vs_ceiling": r["create_vs_driver"],
    }
    targets = []
    for key, (name, text, limit) in TARGETS.items():
        value = values[key]
        met = None if value is None else (value < limit if key == "crud_p99" else value >= limit)
        targets.append({"id": key, "name": name, "target": text, "value": value, "met": met})
    return targets + search_targets(workloads) + service_workloads.targets(workloads)


def search_targets(workloads: dict[str, Any]) -> list[dict[str, Any]]:
    """The search issue's goal for its typical searches: p50 < 50 ms and p99 < 200 ms."""
    by_op = _get(workloads, "search", "by_op") or {}
    targets = []
    for shape in search.TYPICAL_SHAPES:
        latency = (by_op.get(shape) or {}).get("latency_ms") or {}
        for stat, limit in (("p50", 50.0), ("p99", 200.0)):
            value = latency.get(stat)
            targets.append(
                {
                    "id": f"search_{stat}:{shape}",
                    "name": f"search {shape} {stat}",
                    "target": f"< {limit:.0f} ms",
                    "value": value,
                    "met": None if value is None else value < limit,
                }
            )
    return targets


def _line(name: str, result: dict[str, Any]) -> str:
    lat = result.get("latency_ms") or {}
    extra = f", {result['units_per_s']:.0f} resources/s" if name == "ingest" else ""
    return (
        f"{name}: {result['throughput_rps']:.1f} req/s{extra}, p50 {lat.get('p50', 0):.1f} ms,"
        f" p99 {lat.get('p99', 0):.1f} ms, {result['errors']} errors of {result['requests']},"
        f" server CPU {result['resources']['server_cpu_cores']:.2f} cores"
    )


def _ceiling_line(name: str, result: dict[str, Any]) -> str:
    return (
        f"{name}: {result['resources_per_s']:.0f} resources/s, {result['rows_per_s']:.0f} rows/s,"
        f" {result['errors']} errors"
    )


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


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
            log(f"recorded {_relative(path)} and updated bench/RESULTS.md")
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
    from bench import audit_cost, compare, export_load  # they build on this module

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
        from bench import audit_cost

        return audit_cost.main(args)
    if args.command == "export-load":
        from bench import export_load

        return export_load.main(args)
    if args.command == "compare":
        from bench import compare

        return compare.main(args)
    results = run(config_from_args(args))
    errors = sum(w.get("errors", 0) for r in results for w in r["workloads"].values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
