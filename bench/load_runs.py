"""The measured processes of one engine's run, and what is sampled around them.

The load generator runs a workload against a server from the load core; the driver ceiling
inserts the rows an ingest wrote straight through the driver from the server core. While
either runs, the CPU of the process under test (and of the database's backends) is sampled
from /proc; around the load generator, also the database's counters and states and, with
`--phases`, the server's thread CPU by phase.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import db_activity, phases
from bench.db import BenchDatabase
from bench.log import log
from bench.procstats import Sampler, load_average, wait_idle
from bench.server import REPO, ServerHandle, pin_prefix
from bench.workloads.base import Prepared


@dataclass(frozen=True)
class LoadRuns:
    """Runs of the load generator and of the driver ceiling on one benchmark database."""

    db: BenchDatabase
    work_dir: Path
    server_cpus: str | None  # the server's and the driver ceiling's (None: not pinned)
    load_cpus: str | None  # the load generator's and the database backends'
    seed: int
    phase_set: str | None  # `--phases`: a phase set of bench/phases.py, thread CPU by phase
    sample_db_activity: bool  # `--db-activity`: pg_stat_activity sampled (db_activity.py)
    background_workers: bool  # the server runs its background workers

    @property
    def phases_file(self) -> Path:
        """Where the server's phase probe writes its counts."""
        return self.work_dir / "phases.json"

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
            "seed": self.seed,
            "request_timeout_s": 600 if module == "ingest" else 60,
            "cancel_at_deadline": cancel_at_deadline,
            "params": prepared.params,
        }
        result = self._measure(spec, server, on_measuring)
        result["notes"] = prepared.notes
        del result["window_monotonic"]
        return result

    def _measure(
        self, spec: dict[str, Any], server: ServerHandle, on_measuring: Callable[[], Any] | None
    ) -> dict[str, Any]:
        """The load generator's result for `spec`, with the server's CPU, the database's
        counters and the machine's load around it."""
        spec_path = self.work_dir / f"spec-{spec['workload']}-{server.kind}.json"
        out_path = self.work_dir / f"out-{spec['workload']}-{server.kind}.json"
        spec_path.write_bytes(orjson.dumps(spec))
        # the old notification worker keeps the server busy (its rounds): wait a bounded time
        waited = wait_idle(server.pid, timeout=5 if self.background_workers else 300)
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
        result = self._generator_result(spec, process, out_path, server, sampler, on_measuring)
        result["resources"] = _server_usage(spec["workload"], result, sampler)
        if activity_before:
            result["database_activity"] = self._database_activity(activity_before, result)
        result["load_average_before"] = load_before
        result["load_average_after"] = load_average()
        return result

    def _generator_result(
        self,
        spec: dict[str, Any],
        process: subprocess.Popen[str],
        out_path: Path,
        server: ServerHandle,
        sampler: Sampler,
        on_measuring: Callable[[], Any] | None,
    ) -> dict[str, Any]:
        """Wait for the load generator's `process`, sampling while it measures (`sampler`
        stopped at its end); its result file, with the phases and the database's states."""
        workload = spec["workload"]
        assert process.stdout is not None
        measuring = process.stdout.readline().startswith("measuring")
        probed = phases.snapshot(self.phases_file) if self.phase_set else {}
        if measuring and on_measuring is not None:
            on_measuring()
        states = self._activity_sampler(server) if measuring else None
        try:
            _, stderr = process.communicate(timeout=spec["duration_s"] + spec["warmup_s"] + 900)
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
        return result

    def _database_activity(self, before: dict[str, int], result: dict[str, Any]) -> dict[str, Any]:
        """The benchmark database's counters (pg_stat_database) over the run."""
        time.sleep(1.5)  # let the backends publish their counters
        after = self.db.activity()
        delta = {k: after[k] - before.get(k, 0) for k in after}
        requests = max(result["requests"] + result["warmup"]["requests"], 1)
        per_request = {k: round(v / requests, 2) for k, v in delta.items() if v}
        return {
            "totals": {k: v for k, v in delta.items() if "." not in k},
            "per_request": {k: v for k, v in per_request.items() if "." not in k},
            "per_request_by_table": {k: v for k, v in per_request.items() if "." in k},
            "note": "pg_stat_database of the benchmark database over the run, warm-up "
            "included (so is per_request); the counting connection adds a transaction",
        }

    def driver_ceiling(
        self,
        ceiling_db: BenchDatabase,
        tx_low: int,
        tx_high: int,
        batch: str | int,
        *,
        concurrency: int,
        **extra: Any,
    ) -> dict[str, Any]:
        """Insert the rows of transactions `tx_low`..`tx_high` again into `ceiling_db`
        through the driver (own process, server core), `batch` resources per transaction."""
        spec = {
            "source_url": self.db.url,
            "target_url": ceiling_db.url,
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
        sampler = self._sampler(process.pid, ceiling_db)
        _, stderr = process.communicate(timeout=1800)
        sampler.stop()
        if process.returncode != 0:
            raise RuntimeError(f"driver ceiling failed: {stderr.decode()[-3000:]}")
        result: dict[str, Any] = orjson.loads(out_path.read_bytes())
        result["process"] = _inserting_process_usage(result, sampler)
        result["load_average_after"] = load_average()
        return result

    def _sampler(self, pid: int, database: BenchDatabase) -> Sampler:
        name = database.name if database.engine == "postgresql" else None
        cpus = {int(c) for c in self.load_cpus.split(",")} if self.load_cpus else None
        return Sampler(pid, database=name, database_cpus=cpus).start()

    def _activity_sampler(self, server: ServerHandle) -> db_activity.ActivitySampler | None:
        """`--db-activity`: the database's backends sampled while `server` is measured."""
        if not self.sample_db_activity or self.db.engine != "postgresql":
            return None
        if server.kind != "samhandling":
            return None
        return db_activity.ActivitySampler(self.db.url, self.db.name).start()

    def _phases(self, workload: str, before: dict[str, Any]) -> list[dict[str, Any]]:
        """The thread CPU by phase of `workload`'s measured phase (`--phases`), logged."""
        if not self.phase_set:
            return []
        after = phases.snapshot(self.phases_file, settle_s=2 * phases.DUMP_SECONDS)
        rows = phases.per_unit(self.phase_set, before, after)
        if rows:
            log(f"{workload}: " + phases.describe(self.phase_set, rows, after["probe_cost_s"]))
        return rows


def _server_usage(workload: str, result: dict[str, Any], sampler: Sampler) -> dict[str, Any]:
    """The server's CPU and memory over the load generator's measured window, with its CPU
    per request (and per resource for the loading workloads)."""
    usage = sampler.window(*result["window_monotonic"])
    if result["ok"]:
        usage["server_cpu_ms_per_request"] = round(
            1000 * usage["server_cpu_seconds"] / result["ok"], 3
        )
    if result["units"] and workload in ("ingest", "preload"):
        usage["server_cpu_ms_per_resource"] = round(
            1000 * usage["server_cpu_seconds"] / result["units"], 3
        )
    return usage


def _inserting_process_usage(result: dict[str, Any], sampler: Sampler) -> dict[str, Any]:
    """The driver ceiling's process over its timed phase (taken out of `result`), with its
    CPU per resource."""
    window = sampler.window(*result.pop("window_monotonic"))
    usage = {k.replace("server_", "process_"): v for k, v in window.items()}
    if result["resources"]:
        # The inserting process measures its own CPU exactly over the timed phase.
        usage["process_cpu_ms_per_resource"] = round(
            1000 * result["process_cpu_seconds"] / result["resources"], 3
        )
    return usage


def workload_line(name: str, result: dict[str, Any]) -> str:
    """A load generator's result in one line of the log."""
    lat = result.get("latency_ms") or {}
    extra = f", {result['units_per_s']:.0f} resources/s" if name == "ingest" else ""
    return (
        f"{name}: {result['throughput_rps']:.1f} req/s{extra}, p50 {lat.get('p50', 0):.1f} ms,"
        f" p99 {lat.get('p99', 0):.1f} ms, {result['errors']} errors of {result['requests']},"
        f" server CPU {result['resources']['server_cpu_cores']:.2f} cores"
    )


def ceiling_line(name: str, result: dict[str, Any]) -> str:
    """A driver ceiling's result in one line of the log."""
    return (
        f"{name}: {result['resources_per_s']:.0f} resources/s, {result['rows_per_s']:.0f} rows/s,"
        f" {result['errors']} errors"
    )
