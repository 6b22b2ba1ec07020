"""Notifications benchmark (issue 21): commit-to-delivery delay and notifications per second
from a `samhandling serve` process pinned to one core to a rest-hook receiver on loopback.

    python -m bench.notifications [--engine postgresql|sqlite] [--rounds 3] [--backlog 5000]

1. **delay**: one subscription; NEWS2 alerts written one at a time at `--rate` per second;
   for each, the time from the server's 201 (the write is committed before it answers) to
   the receiver having the notification that names it. p50/p90/p99 in ms.
2. **drain**: the receiver answers 503 while `--backlog` alerts are written in transaction
   Bundles of 100 (the server numbers them and backs off); then it answers 200, and the
   rate is events received / (last arrival - first arrival): the sender's rate with
   matching already done. With `--subscriptions N`, N subscriptions share the backlog.
3. **flow**: the same backlog written while the receiver is up: events per second from the
   first write to the last arrival (writing, matching and sending together).

The client and the receiver run in this process (not pinned); the host's load average is
printed before and after each round: other work on the machine shows there. Nothing is
recorded; copy the printed table into bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.db import BenchDatabase
from bench.server import free_port, start_server

FHIR_JSON = {"Content-Type": "application/fhir+json"}
NEWS2 = "https://samhandling.no/fhir/SubscriptionTopic/news2-alert"
ALERT_CATEGORY = "http://terminology.hl7.org/CodeSystem/communication-category"


class Receiver:
    """A rest-hook endpoint recording when each announced focus arrived."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: dict[str, float] = {}
        self.events = 0
        self.up = True
        self.lock = threading.Lock()
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: Request) -> Response:
        if not self.up:
            return Response(status_code=503)
        now = time.perf_counter()
        status = json.loads(await request.body())["entry"][0]["resource"]
        with self.lock:
            for parameter in status["parameter"]:
                if parameter["name"] != "notification-event":
                    continue
                parts = {p["name"]: p for p in parameter["part"]}
                focus = parts["focus"]["valueReference"]["reference"]
                self.arrivals.setdefault(focus, now)
                self.events += 1
        return Response(status_code=200)

    def start(self) -> Receiver:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def alert(patient: str, n: int) -> dict[str, Any]:
    return {
        "resourceType": "Communication",
        "status": "preparation",
        "category": [{"coding": [{"system": ALERT_CATEGORY, "code": "alert"}]}],
        "subject": {"reference": f"Patient/{patient}"},
        "payload": [{"contentString": f"NEWS2 {n}"}],
    }


def subscribe(client: httpx.Client, url: str) -> str:
    body = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "benchmark",
        "criteria": NEWS2,
        "channel": {"type": "rest-hook", "endpoint": url, "payload": "application/fhir+json"},
    }
    created = client.post("/Subscription", json=body, headers=FHIR_JSON)
    created.raise_for_status()
    return str(created.json()["id"])


def until(condition: Any, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark waited too long")
        time.sleep(0.005)


def delay_round(
    client: httpx.Client, receiver: Receiver, patient: str, count: int, rate: float
) -> list[float]:
    """Milliseconds from each write's 201 to its notification's arrival."""
    answered: dict[str, float] = {}
    for n in range(count):
        started = time.perf_counter()
        response = client.post("/Communication", json=alert(patient, n), headers=FHIR_JSON)
        response.raise_for_status()
        answered[f"Communication/{response.json()['id']}"] = time.perf_counter()
        time.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
    until(lambda: all(focus in receiver.arrivals for focus in answered))
    return [(receiver.arrivals[f] - t) * 1000 for f, t in answered.items()]


def write_backlog(client: httpx.Client, patient: str, count: int) -> list[str]:
    written: list[str] = []
    for start in range(0, count, 100):
        entries = [
            {"resource": alert(patient, n), "request": {"method": "POST", "url": "Communication"}}
            for n in range(start, min(start + 100, count))
        ]
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        base = str(client.base_url).rstrip("/")
        response = client.post(base, json=bundle, headers={**FHIR_JSON, "Prefer": "return=minimal"})
        response.raise_for_status()
        written += [
            e["response"]["location"].split("/_history")[0] for e in response.json()["entry"]
        ]
    return written


def numbered(client: httpx.Client, subscription_id: str) -> int:
    status = client.get(f"/Subscription/{subscription_id}/$status").json()
    found = {p["name"]: p for p in status["parameter"]}
    return int(found["events-since-subscription-start"]["valueString"])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def status_of(client: httpx.Client, subscription_id: str) -> dict[str, Any]:
    status = client.get(f"/Subscription/{subscription_id}/$status").json()
    return {p["name"]: p for p in status["parameter"]}


def drain_round(
    client: httpx.Client, receiver: Receiver, patient: str, ids: list[str], backlog: int
) -> float:
    """Events per second sending a backlog numbered while the receiver was down."""
    receiver.up = False
    before = {i: numbered(client, i) for i in ids}
    write_backlog(client, patient, backlog)
    until(lambda: all(numbered(client, i) >= before[i] + backlog for i in ids))
    receiver.arrivals.clear()
    receiver.events = 0
    receiver.up = True
    until(lambda: receiver.events >= backlog * len(ids))
    times = sorted(receiver.arrivals.values())
    return backlog * len(ids) / max(1e-9, times[-1] - times[0])


def flow_round(
    client: httpx.Client, receiver: Receiver, patient: str, ids: list[str], backlog: int
) -> float:
    """Events per second from the first write of a backlog to its last arrival."""
    receiver.arrivals.clear()
    receiver.events = 0
    started = time.perf_counter()
    write_backlog(client, patient, backlog)
    until(lambda: receiver.events >= backlog * len(ids))
    return backlog * len(ids) / (max(receiver.arrivals.values()) - started)


def run(engine: str, rounds: int, backlog: int, subscriptions: int, rate: float) -> None:
    work_dir = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    database = BenchDatabase.fresh(engine, f"samhandling_bench_notify_{os.getpid()}", work_dir)
    server = start_server("samhandling", database.url, work_dir=work_dir, cpus="0")
    receiver = Receiver().start()
    headers = server.headers()
    try:
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
            patient = client.post("/Patient", json={"resourceType": "Patient"}, headers=FHIR_JSON)
            patient_id = str(patient.json()["id"])
            ids = [subscribe(client, receiver.url) for _ in range(subscriptions)]
            active = "active"
            until(lambda: all(status_of(client, i)["status"]["valueCode"] == active for i in ids))
            print(f"engine {engine}; server pinned to cpu 0; {subscriptions} subscription(s)")
            for r in range(rounds):
                load = os.getloadavg()[0]
                receiver.arrivals.clear()
                delays = delay_round(client, receiver, patient_id, 100, rate)
                drain = drain_round(client, receiver, patient_id, ids, backlog)
                flow = flow_round(client, receiver, patient_id, ids, backlog)
                print(
                    f"round {r + 1}: delay p50 {statistics.median(delays):.0f} ms, "
                    f"p90 {percentile(delays, 0.9):.0f} ms, p99 {percentile(delays, 0.99):.0f} ms; "
                    f"drain {drain:,.0f} events/s; flow {flow:,.0f} events/s; "
                    f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}"
                )
    finally:
        receiver.stop()
        server.stop()
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", default="postgresql", choices=("postgresql", "sqlite"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--subscriptions", type=int, default=1)
    parser.add_argument("--rate", type=float, default=5.0, help="writes per second (delay)")
    args = parser.parse_args()
    run(args.engine, args.rounds, args.backlog, args.subscriptions, args.rate)


if __name__ == "__main__":
    main()
