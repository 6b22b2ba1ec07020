"""Document sharing across collaboration areas, through real server processes.

Area A (a hospital's area) and area B (the GP's) are two `samhandling serve` processes on
their own databases, each the other's peer, each with its own credentials at the other's
development issuer (client credentials, `private_key_jwt`). B has two more peers: one that
is down (a closed port) and one slower than its timeout (a tiny HTTP server in this test
that sleeps). A GP in B searches a patient's documents by national ID and gets B's own and
A's, each listed once, while the outcome names the peers that did not answer; the GP reads
A's discharge summary through B; the peers never ask each other back (no loop).
"""

from __future__ import annotations

import base64
import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwk

from fixtures.federation_areas import (
    BY_PATIENT,
    create,
    issuer_of,
    patient,
    peer_entry,
    provide,
    put_hospital,
    write_peers,
)
from fixtures.server_process import ServerProcess, free_port
from samhandling.services.document_federation.content_links import ContentLinks

PDF = b"%PDF-1.4\n% Epikrise fra Fjordbyen sykehus\n" + bytes(range(256)) * 4
SLOW_SECONDS = 3.0
SLOW_TIMEOUT = 1.0
FEDERATION = "X-Samhandling-Federation"


class SlowPeer(ThreadingHTTPServer):
    """A peer that issues tokens at once but answers searches only after SLOW_SECONDS;
    it serves Binary/range-test with ranges (what an ITI-68 peer does) and keeps what it was
    sent."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.seen: list[dict[str, str]] = []
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}/fhir"


class _SlowHandler(BaseHTTPRequestHandler):
    server: SlowPeer

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self._send(200, "application/json", b'{"access_token":"t","token_type":"Bearer"}')

    def do_GET(self) -> None:
        self.server.seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.path.startswith("/fhir/Binary/range-test"):
            start, end = self.headers.get("range", "bytes=0-").removeprefix("bytes=").split("-")
            part = PDF[int(start) : int(end) + 1]
            extra = {"Content-Range": f"bytes {start}-{end}/{len(PDF)}", "Accept-Ranges": "bytes"}
            self._send(206, "application/pdf", part, extra)
            return
        time.sleep(SLOW_SECONDS)
        self._send(200, "application/fhir+json", b'{"resourceType":"Bundle","type":"searchset"}')

    def _send(
        self, status: int, kind: str, body: bytes, extra: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway gave up waiting, as it should


@pytest.fixture
def slow_peer() -> Iterator[SlowPeer]:
    server = SlowPeer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def areas(
    database_url: str, tmp_path: Path, sqlite_template: Path, slow_peer: SlowPeer
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Area A on the test's database and area B on a SQLite file of its own, each the
    other's peer; B also has a peer that is down and one that is too slow."""
    b_database = tmp_path / "b.db"
    shutil.copyfile(sqlite_template, b_database)
    key_a, key_b = (jwk.ECKey.generate_key("P-256", auto_kid=True) for _ in range(2))
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a = ServerProcess(database_url, a_dir, publish_definitions=False)
    b = ServerProcess(f"sqlite:///{b_database}", b_dir, publish_definitions=False)
    issuer_of(a).register_client("federation-b", key_b.as_dict(private=True), persona_name="system")
    issuer_of(b).register_client("federation-a", key_a.as_dict(private=True), persona_name="system")
    down = f"http://127.0.0.1:{free_port()}/fhir"
    a_peers = write_peers(
        tmp_path / "a-peers", key_a, peer_entry("area-b", b.base_url, 5, "federation-a")
    )
    b_peers = write_peers(
        tmp_path / "b-peers",
        key_b,
        peer_entry("area-a", a.base_url, 5, "federation-b"),
        peer_entry("area-down", down, 2),
        peer_entry("area-slow", slow_peer.base_url, SLOW_TIMEOUT),
    )
    a.env["SAMHANDLING_DOCUMENT_PEERS"] = str(a_peers)
    b.env["SAMHANDLING_DOCUMENT_PEERS"] = str(b_peers)
    try:
        a.start(timeout=120)  # two servers on a shared machine: give each time to start
        b.start(timeout=120)
        yield a, b
    finally:
        b.stop()
        a.stop()


def load_documents(client: httpx.Client, a: ServerProcess, b: ServerProcess) -> str:
    """A holds a discharge summary and a referral B holds a copy of; B holds a GP note and
    that copy; A also holds a SubmissionSet of its discharge summary. The author is the
    hospital, known in both areas. Returns A's patient id."""
    for server in (a, b):
        put_hospital(client, server)
    in_a, in_b = create(client, a, patient()), create(client, b, patient())
    discharge = provide(client, a, in_a, "urn:uuid:a-discharge", "Epikrise", PDF)
    provide(client, a, in_a, "urn:uuid:shared-referral", "Henvisning", b"%PDF-1.4 henvisning")
    provide(client, b, in_b, "urn:uuid:shared-referral", "Henvisning (kopi)", b"%PDF-1.4 kopi")
    provide(client, b, in_b, "urn:uuid:b-note", "Notat fra fastlegen", b"%PDF-1.4 notat")
    create(client, a, submission_set(in_a, discharge))
    return in_a


def submission_set(patient_id: str, document_id: str) -> dict[str, Any]:
    mhd = "https://profiles.ihe.net/ITI/MHD/"
    return {
        "resourceType": "List",
        "extension": [
            {
                "url": mhd + "StructureDefinition/ihe-sourceId",
                "valueIdentifier": {"value": "urn:oid:2.16.578.1.12.4.1.7.991000046"},
            }
        ],
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:a-submission"}],
        "status": "current",
        "mode": "working",
        "code": {"coding": [{"system": mhd + "CodeSystem/MHDlistTypes", "code": "submissionset"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": "2026-11-20T10:05:00+01:00",
        "entry": [{"item": {"reference": f"DocumentReference/{document_id}"}}],
    }


def document_lists_are_federated(client: httpx.Client, a: ServerProcess, b: ServerProcess) -> None:
    """ITI-66 at B by national ID names A's SubmissionSet, at home in A."""
    lists = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes|submissionset"
    params = [*BY_PATIENT.items(), ("code", lists)]
    answer = client.get(f"{b.base_url}/List", params=params, headers=b.headers("gp"))
    assert answer.status_code == 200, answer.text
    found = [e for e in answer.json()["entry"] if e["search"]["mode"] == "match"]
    remote = [e for e in found if e["fullUrl"].startswith(f"{a.base_url}/List/")]
    assert [e["resource"]["identifier"][0]["value"] for e in remote] == ["urn:uuid:a-submission"]
    assert any("area-a" in i["diagnostics"] for i in outcome_issues(answer.json()))


def search(
    client: httpx.Client, server: ServerProcess, persona: str, **claims: object
) -> dict[str, Any]:
    url = f"{server.base_url}/DocumentReference"
    answer = client.get(url, params=BY_PATIENT, headers=server.headers(persona, **claims))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def matches(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    by_master = {e["resource"]["masterIdentifier"]["value"]: e for e in found}
    assert len(by_master) == len(found), "a document is listed twice"
    return by_master


def outcome_issues(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    outcomes = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    return [issue for outcome in outcomes for issue in outcome["issue"]]


def test_a_gp_finds_and_reads_the_hospitals_document_through_federation(
    areas: tuple[ServerProcess, ServerProcess], slow_peer: SlowPeer
) -> None:
    a, b = areas
    with httpx.Client(timeout=30) as client:
        load_documents(client, a, b)
        started = time.monotonic()
        bundle = search(client, b, "gp", purpose="COC")  # continuity of care
        elapsed = time.monotonic() - started

        found = matches(bundle)
        assert set(found) == {"urn:uuid:b-note", "urn:uuid:shared-referral", "urn:uuid:a-discharge"}
        assert found["urn:uuid:shared-referral"]["resource"]["description"] == "Henvisning (kopi)"
        remote = found["urn:uuid:a-discharge"]
        assert remote["fullUrl"].startswith(f"{a.base_url}/DocumentReference/")
        assert remote["resource"]["meta"]["source"] == a.base_url
        assert "source" not in found["urn:uuid:b-note"]["resource"].get("meta", {})

        issues = {i["diagnostics"].split(" ")[0]: i for i in outcome_issues(bundle)}
        assert issues["area-down"]["code"] == "transient"
        assert issues["area-slow"]["code"] == "timeout"
        assert issues["area-a"]["severity"] == "information"
        assert "1 added, 1 already listed" in issues["area-a"]["diagnostics"]
        assert not any("area-b" in i["diagnostics"] for i in outcome_issues(bundle))  # no loop
        # the slow peer is waited for up to its timeout, not for its answer (3 s); the
        # margin between them is for a loaded host, where a 1 s wait can end late
        assert SLOW_TIMEOUT <= elapsed < SLOW_SECONDS, elapsed
        assert slow_peer.seen[0][FEDERATION.lower()] == "1"

        read_remote_content(client, b, remote["resource"])
        the_audit_names_the_peers(client, b)
        a_saw_the_consumers_purpose_and_organisation(client, a)
        a_asks_b_without_being_asked_back(client, a)
        range_and_content_type_pass_through(client, b, slow_peer)
        document_lists_are_federated(client, a, b)


def read_remote_content(client: httpx.Client, b: ServerProcess, remote: dict[str, Any]) -> None:
    """The merged entry's attachment points at B, which reads A's Binary with its own
    credentials; the link is the GP's only, and only as handed out."""
    url = remote["content"][0]["attachment"]["url"]
    assert url.startswith(f"{b.base_url}/_federation/area-a/Binary/")
    answer = client.get(url, headers=b.headers("gp"))
    assert answer.status_code == 200, answer.text
    kind = answer.headers["content-type"]
    if kind.startswith("application/fhir+json"):  # A serves Binary as a resource
        assert base64.b64decode(answer.json()["data"]) == PDF
    else:  # A serves the raw content (ITI-68)
        assert (kind, answer.content) == ("application/pdf", PDF)
    other = client.get(url, headers=b.headers("hospital-physician"))
    assert other.status_code == 403, other.text
    forged = url.replace("sig=", "sig=x")
    assert client.get(forged, headers=b.headers("gp")).status_code == 403
    elsewhere = url.split("?")[0].rsplit("/", 1)[0] + "/other?" + url.split("?")[1]
    assert client.get(elsewhere, headers=b.headers("gp")).status_code == 403
    unknown = url.replace("/area-a/", "/area-x/")
    assert client.get(unknown, headers=b.headers("gp")).status_code == 404
    assert client.get(url).status_code == 401


def the_audit_names_the_peers(client: httpx.Client, b: ServerProcess) -> None:
    answer = client.get(
        f"{b.base_url}/AuditEvent", params={"_count": "100"}, headers=b.headers("security-officer")
    )
    assert answer.status_code == 200, answer.text
    named = []
    for entry in answer.json().get("entry", []):
        agents = entry["resource"].get("agent", [])
        named.append(
            {
                a["who"]["display"].split(":")[0]
                for a in agents
                if a.get("type", {}).get("text") == "destination"
            }
        )
    assert {"area-a", "area-down", "area-slow"} in named  # the federated search
    assert {"area-a"} in named  # the content read


def a_saw_the_consumers_purpose_and_organisation(client: httpx.Client, a: ServerProcess) -> None:
    """A's own trail records B's call with the GP's purpose of use (from the token B got at
    A's issuer) and the GP's organisation, never the GP's national ID."""
    answer = client.get(
        f"{a.base_url}/AuditEvent", params={"_count": "100"}, headers=a.headers("security-officer")
    )
    assert answer.status_code == 200, answer.text
    events = [e["resource"] for e in answer.json()["entry"]]
    searches = [e for e in events if "patient.identifier" in json.dumps(e.get("entity", []))]
    assert searches, "A did not audit B's search"
    event = searches[0]
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "COC"
    organisations = {
        agent["who"]["identifier"]["value"]
        for agent in event["agent"]
        if agent.get("type", {}).get("text") == "legal-entity"
    }
    assert organisations == {"991000011"}  # Fjordbyen legesenter, the GP's
    assert "12837510110" not in json.dumps(event)


def a_asks_b_without_being_asked_back(client: httpx.Client, a: ServerProcess) -> None:
    """From A the same search reaches B, which answers from its own area only."""
    bundle = search(client, a, "hospital-physician")
    assert set(matches(bundle)) == {
        "urn:uuid:a-discharge",
        "urn:uuid:shared-referral",
        "urn:uuid:b-note",
    }
    diagnostics = [i["diagnostics"] for i in outcome_issues(bundle)]
    assert any(d.startswith("area-b (") and "1 added" in d for d in diagnostics)
    assert not any("area-down" in d or "area-slow" in d for d in diagnostics)


def range_and_content_type_pass_through(
    client: httpx.Client, b: ServerProcess, slow_peer: SlowPeer
) -> None:
    """A peer serving raw content with ranges (as ITI-68 does): B passes Range on and the
    peer's 206, Content-Type and Content-Range back."""
    links = ContentLinks.in_directory(b.data_dir, b.base_url)
    url = links.link("area-slow", "Binary/range-test", "12837510110", time.time())  # the GP's
    answer = client.get(url, headers={"Range": "bytes=10-19", **b.headers("gp")})
    assert answer.status_code == 206, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-range"] == f"bytes 10-19/{len(PDF)}"
    assert answer.content == PDF[10:20]
    sent = slow_peer.seen[-1]
    assert sent["range"] == "bytes=10-19"
    assert sent["authorization"] == "Bearer t"  # the gateway's token at the peer, not the GP's
    assert sent[FEDERATION.lower()] == "1"
