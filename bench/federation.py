"""What a federated document search costs: `python -m bench.federation [--rounds N]`.

Three `samhandling serve` processes on SQLite files of their own: a gateway and two peers,
each peer holding `--documents` DocumentReferences of one patient (the gateway holds as
many). One client asks, in turn and one at a time, each peer directly, the gateway for its
own area only (`X-Samhandling-Federation: 1`) and the gateway federated (both peers asked
in parallel while its own search runs). The issue's target: a federated query costs at most
the slowest peer + 20 ms. Reported: p50/p95 of each, and the federated p50 less the larger
of the two peers' p50 (the gateway's overhead). With `--canned-ms N` the peers are canned
(threads in this process answering the same searchset after N ms, no CPU of their own): on
a machine whose cores the peers would share with the gateway, that isolates what the
gateway itself adds. Not part of `bench.run`: that harness drives one server; this needs
three. The JSON goes to stdout, and with --record to
bench/results/federation/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
from joserfc import jwk

from bench.procstats import git_commit, load_average
from bench.server import REPO, ServerHandle, start_server
from bench.stats import latency_summary
from samhandling.auth import DevIssuer

FNR = "05858540072"
QUERY = {"patient.identifier": f"urn:oid:2.16.578.1.12.4.1.4.1|{FNR}", "_count": "100"}
LOCAL_ONLY = {"X-Samhandling-Federation": "1"}


def _sqlite(folder: Path) -> str:
    return f"sqlite:///{folder / 'samhandling.db'}"


class CannedPeer(ThreadingHTTPServer):
    """A peer that costs no CPU of its own: it answers every search with the same searchset
    of `documents` DocumentReferences after `delay_ms` (a thread asleep), and every token
    request at once. It isolates what the gateway itself adds."""

    daemon_threads = True

    def __init__(self, name: str, documents: int, delay_ms: float) -> None:
        super().__init__(("127.0.0.1", 0), _CannedHandler)
        self.delay = delay_ms / 1000
        entries = [{"resource": _document(name, n, "Patient/1"), "search": {"mode": "match"}}
                   for n in range(documents)]  # fmt: skip
        self.body = orjson.dumps({"resourceType": "Bundle", "type": "searchset",
                                  "total": documents, "entry": entries})  # fmt: skip
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}/fhir"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def headers(self) -> dict[str, str]:
        return {}

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _CannedHandler(BaseHTTPRequestHandler):
    server: CannedPeer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self._send(b'{"access_token":"canned","token_type":"Bearer","expires_in":3600}')

    def do_GET(self) -> None:
        time.sleep(self.server.delay)
        self._send(self.server.body)

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _peer(work: Path, name: str, key: jwk.Key) -> tuple[ServerHandle, dict[str, Any]]:
    server = start_server("samhandling", _sqlite(work / name), work_dir=work / name)
    root = server.base_url.removesuffix("/fhir")
    issuer = DevIssuer(server.data_dir, f"{root}/dev-issuer")
    issuer.register_client("bench-gateway", key.as_dict(private=True), persona_name="system")
    return server, _entry(name, server.base_url, issuer.token_url)


def _entry(name: str, base_url: str, token_url: str) -> dict[str, Any]:
    return {
        "name": name,
        "base_url": base_url,
        "token_url": token_url,
        "client_id": "bench-gateway",
        "private_key_file": "gateway.jwk.json",
        "timeout_seconds": 10,
    }


def _document(area: str, n: int, patient: str) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": f"{area}-{n}",
        "status": "current",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{area}-{n}"},
        "subject": {"reference": patient},
        "content": [{"attachment": {"contentType": "application/pdf", "url": "Binary/x"}}],
    }


def _load(client: httpx.Client, server: ServerHandle, documents: int, area: str) -> None:
    headers = {"Content-Type": "application/fhir+json", **server.headers()}
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": FNR}],
    }
    made = client.post(f"{server.base_url}/Patient", json=patient, headers=headers)
    made.raise_for_status()
    for n in range(documents):
        document = _document(area, n, f"Patient/{made.json()['id']}")
        del document["id"]
        client.post(f"{server.base_url}/DocumentReference", json=document, headers=headers)


def _timed(client: httpx.Client, url: str, headers: dict[str, str], matches: int) -> float:
    started = time.perf_counter()
    answer = client.get(url, params=QUERY, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    found = [e for e in answer.json().get("entry", []) if e["search"]["mode"] == "match"]
    assert len(found) == matches, (url, len(found), matches)
    return elapsed


def measure(work: Path, rounds: int, documents: int, canned_ms: float | None) -> dict[str, Any]:
    """Start the gateway and its two peers (real servers, or canned ones answering after
    `canned_ms`), load them, and time `rounds` of each search."""
    key = jwk.ECKey.generate_key("P-256", auto_kid=True)
    (work / "gateway").mkdir(parents=True)
    (work / "gateway" / "gateway.jwk.json").write_text(json.dumps(key.as_dict(private=True)))
    peers: dict[str, Any] = {}
    entries = []
    for name in ("area-one", "area-two"):
        if canned_ms is None:
            peers[name], entry = _peer(work, name, key)
        else:
            peers[name] = CannedPeer(name, documents, canned_ms)
            entry = _entry(name, peers[name].base_url, peers[name].base_url + "/token")
        entries.append(entry)
    peers_file = work / "gateway" / "peers.json"
    peers_file.write_text(json.dumps({"peers": entries}))
    gateway = start_server(
        "samhandling",
        _sqlite(work / "gateway"),
        work_dir=work / "gateway",
        env={"SAMHANDLING_DOCUMENT_PEERS": str(peers_file)},
    )
    servers = {**peers, "gateway": gateway}
    try:
        return _rounds(servers, rounds, documents, loaded=canned_ms is None)
    finally:
        for server in servers.values():
            server.stop()


def _rounds(servers: dict[str, Any], rounds: int, documents: int, loaded: bool) -> dict[str, Any]:
    timings: dict[str, list[float]] = {name: [] for name in ("area-one", "area-two", "local")}
    timings["federated"] = []
    with httpx.Client(timeout=30) as client:
        for name, server in servers.items():
            if loaded or name == "gateway":
                _load(client, server, documents, name)
        gateway = servers["gateway"]
        url = f"{gateway.base_url}/DocumentReference"
        for n in range(rounds + 10):  # the first 10 warm up
            sample = {
                "area-one": _timed(client, f"{servers['area-one'].base_url}/DocumentReference",
                                   servers["area-one"].headers(), documents),
                "area-two": _timed(client, f"{servers['area-two'].base_url}/DocumentReference",
                                   servers["area-two"].headers(), documents),
                "local": _timed(client, url, {**gateway.headers(), **LOCAL_ONLY}, documents),
                "federated": _timed(client, url, gateway.headers(), 3 * documents),
            }  # fmt: skip
            for name, value in sample.items():
                if n >= 10:
                    timings[name].append(value)
    summary = {name: {**latency_summary(v), "min": round(min(v), 3)} for name, v in timings.items()}
    slowest = {q: max(summary["area-one"][q], summary["area-two"][q]) for q in ("p50", "min")}
    summary["overhead_ms"] = {
        "federated p50 - slowest peer p50": round(summary["federated"]["p50"] - slowest["p50"], 3),
        "federated min - slowest peer min": round(summary["federated"]["min"] - slowest["min"], 3),
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--documents", type=int, default=20, help="per area")
    parser.add_argument(
        "--canned-ms",
        type=float,
        default=None,
        help="peers that answer a canned searchset after this many ms, at no CPU cost",
    )
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-federation-") as folder:
        result = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "commit": git_commit(REPO),
            "load_average_before": load_average(),
            "rounds": args.rounds,
            "documents_per_area": args.documents,
            "peers": f"canned, {args.canned_ms} ms" if args.canned_ms is not None else "servers",
            "latency_ms": measure(Path(folder), args.rounds, args.documents, args.canned_ms),
        }
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2).decode()
    print(text)
    if args.record:
        target = REPO / "bench" / "results" / "federation"
        target.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        stamp += "-canned" if args.canned_ms is not None else ""
        (target / f"{stamp}-{result['commit']['commit']}.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
