"""Document sharing end to end (IHE MHD), through a real server process on both databases.

The hospital provides a discharge summary (ITI-65); the GP finds it by the patient's
national identity number (ITI-67, `patient.identifier`) and retrieves it whole and by a byte
range (ITI-68); a document withheld from the patient (9603 NORN_EPO) is invisible to the
citizen, who is told how many were withheld; a submission with a wrong hash is refused with
422 and leaves nothing; a replacement supersedes the document it replaces. Then a 50 MB
document goes in and out while the server's memory grows by less than 20 MB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from fixtures.critical_information import CITIZEN
from fixtures.document_sharing import created, provide_bundle, sha1_base64
from fixtures.server_process import ServerProcess
from samhandling.auth.dev.personas import persona

FHIR_JSON = {"Content-Type": "application/fhir+json"}
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"


def _provide(client: httpx.Client, headers: dict[str, str], bundle: dict[str, Any]) -> Any:
    return client.post(
        str(client.base_url).rstrip("/"), json=bundle, headers={**FHIR_JSON, **headers}
    )


def _found(client: httpx.Client, headers: dict[str, str], **params: str) -> tuple[set[str], str]:
    answer = client.get("/DocumentReference", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entry"]
    ids = {e["resource"]["id"] for e in entries if e["search"]["mode"] == "match"}
    outcome = str([e["resource"] for e in entries if e["search"]["mode"] == "outcome"])
    return ids, outcome


def test_document_sharing_story(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        server.load_personas(client)
        hospital = server.headers("hospital-physician")
        gp, citizen = server.headers("gp"), server.headers("citizen")

        bundle, pdf = provide_bundle(CITIZEN)
        answer = _provide(client, hospital, bundle)
        assert answer.status_code == 200, answer.text
        summary = created(answer.json(), "DocumentReference")[0]

        fnr = persona("citizen").pid
        found, _ = _found(client, gp, **{"patient.identifier": f"{FNR_SYSTEM}|{fnr}"})
        assert found == {summary}
        document = client.get(f"/DocumentReference/{summary}", headers=gp).json()
        url = document["content"][0]["attachment"]["url"]
        whole = client.get(f"/{url}", headers={**gp, "Accept": "application/pdf"})
        assert whole.status_code == 200 and whole.content == pdf
        assert whole.headers["content-type"] == "application/pdf"
        part = client.get(f"/{url}", headers={**gp, "Range": "bytes=0-7"})
        assert part.status_code == 206 and part.content == pdf[:8] == b"%PDF-1.4"

        hidden_bundle, _ = provide_bundle(CITIZEN, confidentiality="NORN_EPO")
        assert _provide(client, hospital, hidden_bundle).status_code == 200
        seen, outcome = _found(client, citizen, patient=CITIZEN)
        assert seen == {summary} and "1 document withheld" in outcome
        assert len(_found(client, gp, patient=CITIZEN)[0]) == 2

        bad, _ = provide_bundle(CITIZEN)
        bad["entry"][1]["resource"]["content"][0]["attachment"]["hash"] = sha1_base64(b"x")
        refused = _provide(client, hospital, bad)
        assert refused.status_code == 422
        assert "attachment.hash" in str(refused.json()["issue"][0]["expression"])
        assert len(_found(client, gp, patient=CITIZEN)[0]) == 2  # nothing stored

        replacement, _ = provide_bundle(CITIZEN)
        replacement["entry"][1]["resource"]["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{summary}"}}
        ]
        assert _provide(client, hospital, replacement).status_code == 200
        old = client.get(f"/DocumentReference/{summary}", headers=gp).json()
        assert old["status"] == "superseded"
        assert (
            client.get(f"/{url}", headers={**gp, "Accept": "application/octet-stream"}).content
            == pdf
        )
        current, _ = _found(client, gp, patient=CITIZEN, status="current")
        assert summary not in current and len(current) == 2


SIZE = 50 * 1024 * 1024
PIECE = 256 * 1024


def _pieces() -> Iterator[bytes]:
    block = bytes(range(256)) * (PIECE // 256)
    for n in range(SIZE // PIECE):
        yield n.to_bytes(4, "big") + block[4:]


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


def test_a_50_mb_document_streams_in_and_out_in_bounded_memory(server: ServerProcess) -> None:
    assert server.process is not None
    pid = server.process.pid
    expected = hashlib.sha256(b"".join(_pieces())).hexdigest()
    with httpx.Client(base_url=server.base_url, timeout=120) as client:
        server.load_personas(client)
        system = server.headers("system")
        upload = {**system, "Content-Type": "application/pdf"}
        small = client.post("/Binary", content=b"%PDF-1.4 warm-up", headers=upload)
        assert small.status_code == 201, small.text  # every code path loaded once
        client.get(
            f"/Binary/{small.json()['id']}",
            headers={**system, "Accept": "application/octet-stream"},
        )
        before = _memory_kb(pid, "VmRSS")
        # reset the peak to the current size (Linux clear_refs 5), so that VmHWM is the peak
        # of what follows, not of the server's start
        Path(f"/proc/{pid}/clear_refs").write_text("5")

        answer = client.post("/Binary", content=_pieces(), headers=upload)
        assert answer.status_code == 201, answer.text
        digest = hashlib.sha256()
        url = f"/Binary/{answer.json()['id']}"
        with client.stream("GET", url, headers={**system, "Accept": "application/pdf"}) as got:
            assert got.status_code == 200
            for piece in got.iter_bytes():
                digest.update(piece)
        assert digest.hexdigest() == expected
        grown_mb = (_memory_kb(pid, "VmHWM") - before) / 1024
        assert grown_mb < 20, f"the server's peak memory grew by {grown_mb:.1f} MB"
