"""The load generator: a separate process that drives one workload against one server.

    python -m bench.load_generator SPEC.json RESULT.json

SPEC names the workload (a module in bench/workloads with `make_source(params, rng)`), the
target host/port, the number of concurrent clients (closed loop: each client sends its next
request when the previous one has answered), a warm-up time, and the two bounds of the
measured phase: at most `max_requests` requests and at most `duration_s` seconds. The result
holds latency percentiles overall and per operation, throughput, errors (with a few
samples), a per-second timeline and the generator's own CPU use (a generator near 100% of
its core is the bottleneck, and the result says so).

The process runs on asyncio (uvloop when installed) with the raw HTTP/1.1 client of
bench/http_client.py: one keep-alive connection per client.
"""

from __future__ import annotations

import asyncio
import importlib
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

from bench.http_client import Connection, HttpError
from bench.stats import latency_summary
from bench.workloads.base import Request, RequestSource

ERROR_SAMPLES = 10


class Run:
    """The state of one generator run: bounds, counters and the recorded latencies."""

    def __init__(self, spec: dict[str, Any], source: RequestSource) -> None:
        self.spec = spec
        self.source = source
        self.max_requests = int(spec.get("max_requests", 10_000))
        self.duration_s = float(spec.get("duration_s", 30))
        self.warmup_s = float(spec.get("warmup_s", 0))
        self.timeout_s = float(spec.get("request_timeout_s", 60))
        self.issued = 0
        self.measuring = False
        self.stop = False
        self.stopped_by = "time"
        self.t0 = 0.0
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.errors_by_op: Counter[str] = Counter()
        self.error_samples: list[dict[str, Any]] = []
        self.units = 0
        self.timeline: Counter[int] = Counter()
        self.warmup_requests = 0
        self.warmup_errors = 0
        self.last_done = 0.0

    async def client(self, connection: Connection) -> None:
        while not self.stop:
            if self.measuring and self.issued >= self.max_requests:
                self.stopped_by = "requests"
                break
            request = self.source.next_request()
            if request is None:
                self.stopped_by = "exhausted"
                self.stop = True
                break
            measured = self.measuring
            if measured:
                self.issued += 1
            await self.send(connection, request, measured)
        await connection.close()

    async def send(self, connection: Connection, request: Request, measured: bool) -> None:
        start = time.perf_counter()
        problem: str | None
        body = b""
        try:
            response = await asyncio.wait_for(
                connection.request(request.method, request.path, request.body, request.headers),
                self.timeout_s,
            )
            body = response.body
            problem = self.source.on_response(request, response)
        except TimeoutError:
            await connection.close()
            problem = "timeout"
        except HttpError as exc:
            problem = f"connection: {exc}"
        end = time.perf_counter()
        if not (measured and self.measuring):
            self.warmup_requests += 1
            self.warmup_errors += problem is not None
            return
        self.last_done = end
        self.timeline[int(end - self.t0)] += 1
        if problem is None:
            self.latencies[request.op].append((end - start) * 1000)
            self.units += request.units
            return
        self.errors[problem] += 1
        self.errors_by_op[request.op] += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(
                {
                    "op": request.op,
                    "method": request.method,
                    "path": request.path[:200],
                    "problem": problem,
                    "body": body[:500].decode("utf-8", "replace"),
                }
            )

    async def main(self) -> dict[str, Any]:
        host, port = self.spec["host"], int(self.spec["port"])
        headers = dict(self.spec.get("headers") or {})
        clients = int(self.spec.get("clients", 1))
        connections = [Connection(host, port, headers) for _ in range(clients)]
        tasks = [asyncio.create_task(self.client(c)) for c in connections]
        if self.warmup_s > 0:
            await asyncio.sleep(self.warmup_s)
        self.measuring = True
        print("measuring", flush=True)  # the harness may start a profiler now
        self.t0 = self.last_done = time.perf_counter()
        mono0, cpu0 = time.monotonic(), time.process_time()
        deadline = self.t0 + self.duration_s
        while not all(t.done() for t in tasks):
            if time.perf_counter() >= deadline:
                self.stopped_by = "time"
                self.stop = True
                break
            await asyncio.sleep(0.05)
        if self.stop and self.spec.get("cancel_at_deadline"):
            for task in tasks:
                task.cancel()  # requests in flight are abandoned (profiling runs)
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):
                raise outcome
        wall = max(self.last_done - self.t0, 1e-9)
        cpu = time.process_time() - cpu0
        return self.result(mono0, mono0 + wall, wall, cpu)

    def result(self, mono0: float, mono1: float, wall: float, cpu: float) -> dict[str, Any]:
        ok = sum(len(v) for v in self.latencies.values())
        errors = sum(self.errors.values())
        all_latencies = [x for v in self.latencies.values() for x in v]
        by_op = {
            op: {
                "requests": len(values) + self.errors_by_op.get(op, 0),
                "errors": self.errors_by_op.get(op, 0),
                "throughput_rps": len(values) / wall,
                "latency_ms": latency_summary(values),
            }
            for op, values in sorted(self.latencies.items())
        }
        for op, count in self.errors_by_op.items():
            by_op.setdefault(
                op,
                {"requests": count, "errors": count, "throughput_rps": 0.0, "latency_ms": {}},
            )
        seconds = max(self.timeline) + 1 if self.timeline else 0
        return {
            "workload": self.spec["workload"],
            "clients": int(self.spec.get("clients", 1)),
            "bounds": {
                "max_requests": self.max_requests,
                "duration_s": self.duration_s,
                "warmup_s": self.warmup_s,
            },
            "stopped_by": self.stopped_by,
            "window_monotonic": [mono0, mono1],
            "measured_s": wall,
            "requests": ok + errors,
            "ok": ok,
            "errors": errors,
            "error_kinds": dict(self.errors),
            "error_samples": self.error_samples,
            "throughput_rps": ok / wall,
            "units": self.units,
            "units_per_s": self.units / wall,
            "latency_ms": latency_summary(all_latencies),
            "by_op": by_op,
            "timeline_rps": [self.timeline.get(i, 0) for i in range(seconds)],
            "warmup": {"requests": self.warmup_requests, "errors": self.warmup_errors},
            "generator": {"cpu_seconds": cpu, "cpu_fraction": cpu / wall},
        }


def run_spec(spec: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(f"bench.workloads.{spec['workload_module']}")
    rng = random.Random(int(spec.get("seed", 1)))
    source: RequestSource = module.make_source(spec.get("params") or {}, rng)
    run = Run(spec, source)
    try:
        import uvloop

        return uvloop.run(run.main())
    except ImportError:
        return asyncio.run(run.main())


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    spec = orjson.loads(Path(argv[0]).read_bytes())
    result = run_spec(spec)
    Path(argv[1]).write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
