"""One engine's run of the benchmark: its database, server, workloads, ceilings, profiles.

For each engine: a fresh database, `samhandling serve` in its own process pinned to the
server core (`taskset`), and then, each workload driven by the load generator in its own
process pinned to the other core (bench/load_runs.py):

1. setup: the two shared Synthea Bundles (`0-*`: organisations, practitioners);
2. ingest: Synthea patient transaction Bundles;
3. ceiling (b): the rows the ingest wrote, inserted again through the driver, in the same
   batches (one per Bundle) and one resource per transaction;
4. read by id, against the server and against the bare ceiling app (a) on the same stack;
5. search: typical searches; create: single POSTs; crud: the C10/R60/U25/D5 mix;
6. targets (bench/targets.py); for every missed one, a py-spy profile of the server under
   that workload (bench/workload_profiles.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from bench import phases, service_workloads, synthea
from bench.config import Config
from bench.db import BenchDatabase
from bench.load_runs import LoadRuns, ceiling_line, workload_line
from bench.log import log
from bench.procstats import machine_info
from bench.server import ServerHandle, auth_enabled, start_server
from bench.targets import evaluate_targets, ratios
from bench.workload_profiles import profile_workloads
from bench.workloads import CRUD_TYPES, crud, ingest, reads, search
from bench.workloads.base import Prepared


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
        self.load_runs = LoadRuns(
            self.db,
            work_dir,
            self.server_cpus,
            self.load_cpus,
            seed=cfg.seed,
            phase_set=cfg.phases,
            sample_db_activity=cfg.db_activity,
            background_workers=cfg.background_workers,
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

    def _server_env(self) -> dict[str, str]:
        env = {"SAMHANDLING_BACKGROUND_WORKERS": "1"} if self.cfg.background_workers else {}
        if self.cfg.phases:
            env.update(phases.server_env(self.cfg.phases, self.load_runs.phases_file))
        return env

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
            profiles = profile_workloads(self, targets)
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
        result = self.load_runs.generate(
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
        from samhandling.store.planner_statistics import refresh_statistics

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
        result = self.load_runs.generate(
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
        log(workload_line("ingest", result))
        self._refresh_statistics()
        self._driver_ceilings(tx_low, self.db.max_tx())

    def _driver_ceilings(self, tx_low: int, tx_high: int) -> None:
        """Ceiling (b): the rows of the ingest's transactions, inserted through the driver."""
        assert self.ceiling_db is not None
        cfg = self.cfg
        self.ceilings["write_bundle"] = self.load_runs.driver_ceiling(
            self.ceiling_db,
            tx_low,
            tx_high,
            "bundle",
            concurrency=cfg.ingest_clients,
            duration_s=cfg.ingest_duration_s,
        )
        log(ceiling_line("driver ceiling, one Bundle per tx", self.ceilings["write_bundle"]))
        self.ceilings["write_single"] = self.load_runs.driver_ceiling(
            self.ceiling_db,
            tx_low,
            tx_high,
            1,
            concurrency=cfg.clients,
            types=list(CRUD_TYPES),
            duration_s=cfg.duration_s,
            max_resources=cfg.max_requests,
        )
        log(ceiling_line("driver ceiling, one resource per tx", self.ceilings["write_single"]))

    def _reads(self) -> None:
        assert self.server is not None
        with self._sa_engine() as engine:
            prepared = reads.prepare(engine, per_type=self.cfg.read_keys_per_type)
        self.prepared["read"] = prepared
        self.workloads["read"] = self.generate_simple("read", "reads", prepared, self.server)
        log(workload_line("read", self.workloads["read"]))
        bare = start_server(
            "bare",
            self.db.url,
            work_dir=self.work_dir,
            workers=self.cfg.workers,
            cpus=self.server_cpus,
        )
        try:
            result = self.generate_simple("read", "reads", prepared, bare)
        finally:
            bare.stop()
        self.ceilings["read"] = result
        log(workload_line("read ceiling (bare app)", result))

    def _run_simple(self, name: str, module: str, prepared: Prepared) -> None:
        assert self.server is not None
        self.prepared[name] = prepared
        self.modules[name] = module
        self.workloads[name] = self.generate_simple(name, module, prepared, self.server)
        log(workload_line(name, self.workloads[name]))

    def generate_simple(
        self,
        name: str,
        module: str,
        prepared: Prepared,
        server: ServerHandle,
        on_measuring: Callable[[], Any] | None = None,
    ) -> dict[str, Any]:
        """`name` against `server` with the run's clients, duration and warm-up."""
        cfg = self.cfg
        return self.load_runs.generate(
            name,
            module,
            prepared,
            server,
            clients=cfg.clients,
            duration_s=cfg.duration_s,
            max_requests=cfg.max_requests,
            warmup_s=cfg.warmup_s,
            on_measuring=on_measuring,
        )

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
