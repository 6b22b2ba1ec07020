"""A read by id on the event loop (issue 24) answers exactly as the threaded read does.

A read or vread by a caller authenticated on the loop runs its statements there: on
PostgreSQL on psycopg's asyncio connections, on SQLite on a connection of the loop's own
(`LoopReads`, whose `statements` counter proves the path). Each case below, on both
engines, is asked once that way and once with the fast path switched off, and the two
answers (status, body bytes, headers) and their audit records must be the same. Other
requests (parameters, a DPoP proof) keep the thread pool.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from joserfc.jwk import ECKey
from starlette.testclient import TestClient

from fixtures.dpop_proofs import proof
from fixtures.fhir_app import BASE, FHIR_JSON, make_client, mint
from fixtures.read_paths import both_ways, last_record
from samhandling.services.lab_results.labels import ACT_REASON, QUALITY_ASSURANCE


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The `system` persona's client, its token remembered (authenticated on the loop)."""
    with make_client(database_url, tmp_path) as test_client:
        assert test_client.get("/fhir/Patient/none").status_code == 404  # a token to recall
        yield test_client


def create(client: TestClient, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    url = f"/fhir/{body['resourceType']}"
    response = client.post(url, content=orjson.dumps(body), headers={**FHIR_JSON, **headers})
    assert response.status_code == 201, response.text
    return dict(response.json())


def observation(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "vekt"}, **extra}


def test_read_and_vread_run_on_the_loop_with_the_same_answers(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = create(client, {"resourceType": "Patient", "name": [{"family": "Nordmann"}]})
    first = create(client, observation(subject={"reference": f"Patient/{patient['id']}"}))
    url = f"/fhir/Observation/{first['id']}"
    changed = {**first, "status": "amended"}
    assert client.put(url, content=orjson.dumps(changed), headers=FHIR_JSON).status_code == 200

    read, sent = both_ways(client, monkeypatch, url)
    assert (read.status_code, read.json()["status"], sent) == (200, "amended", 1)
    assert last_record(client)["patients"] == [patient["id"]]
    earlier, sent = both_ways(client, monkeypatch, f"{url}/_history/1")
    assert (earlier.status_code, earlier.json()["status"], sent) == (200, "final", 2)
    current, sent = both_ways(client, monkeypatch, f"{url}/_history/2")
    assert (current.status_code, current.headers["etag"], sent) == (200, 'W/"2"', 2)


def test_not_modified_unknown_and_deleted_on_the_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"/fhir/Observation/{create(client, observation())['id']}"
    etag = client.get(url).headers["etag"]
    unchanged, sent = both_ways(client, monkeypatch, url, **{"If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content, sent) == (304, b"", 1)
    missing, sent = both_ways(client, monkeypatch, "/fhir/Observation/no-such-thing")
    assert (missing.status_code, missing.json()["issue"][0]["code"], sent) == (404, "not-found", 1)
    assert client.delete(url).status_code == 204
    gone, sent = both_ways(client, monkeypatch, url)
    assert (gone.status_code, gone.headers["etag"]) == (410, 'W/"2"')
    assert sent == 3  # the deletion, the content it deleted (judged), the current version
    deletion, _ = both_ways(client, monkeypatch, f"{url}/_history/2")
    assert deletion.status_code == 410
    wrong, sent = both_ways(client, monkeypatch, f"{url}/_history/x")
    assert (wrong.status_code, sent) == (404, 0)


def test_refusals_on_the_loop_are_the_threaded_refusals(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    security = [{"system": ACT_REASON, "code": QUALITY_ASSURANCE}]
    shared = create(client, observation(meta={"security": security}))  # not for care
    gp = {"Authorization": f"Bearer {mint(tmp_path, 'gp')}"}
    assert client.get("/fhir/Patient/none", headers=gp).status_code == 404  # token recalled
    refused, sent = both_ways(client, monkeypatch, f"/fhir/Observation/{shared['id']}", **gp)
    assert (refused.status_code, sent) == (403, 1)
    assert last_record(client)["outcome"] == "4"
    token = mint(tmp_path, "system", scopes=("system/Patient.rs",))
    narrow = {"Authorization": f"Bearer {token}"}
    assert client.get("/fhir/Patient/none", headers=narrow).status_code == 404
    denied, sent = both_ways(client, monkeypatch, f"/fhir/Observation/{shared['id']}", **narrow)
    assert (denied.status_code, sent) == (403, 0)  # refused before anything was read


def test_parameters_dpop_and_bad_positions_keep_the_thread_pool(
    client: TestClient, tmp_path: Path
) -> None:
    url = f"/fhir/Observation/{create(client, observation())['id']}"
    reads = client.app.state.loop_reads  # type: ignore[attr-defined]
    before = reads.statements
    assert client.get(url, params={"_summary": "true"}).status_code == 200
    key = ECKey.generate_key("P-256")
    token = mint(tmp_path, "system", dpop_jkt=key.thumbprint())
    for _ in range(2):  # a proof each time; the token is remembered the second time
        dpop = {"Authorization": f"DPoP {token}", "DPoP": proof(key, f"{BASE}{url[5:]}", token)}
        assert client.get(url, headers=dpop).status_code == 200
    bad = client.get(url, headers={"X-Samhandling-Consistency": "nonsense"})
    assert bad.status_code == 400
    assert reads.statements == before
    fresh = {"Authorization": f"Bearer {mint(tmp_path, 'system')}"}  # verified on a thread
    assert client.get(url, headers=fresh).status_code == 200
    assert reads.statements == before + 1  # then read on the loop: the caller is settled
    assert client.get(url).status_code == 200
    assert reads.statements == before + 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_sqlite_connection_on_the_loop_is_closed_at_shutdown(
    database_url: str, tmp_path: Path
) -> None:
    with make_client(database_url, tmp_path) as client:
        assert client.get("/fhir/Patient/none").status_code == 404  # a token to recall
        assert client.get("/fhir/Patient/none").status_code == 404
        reads = client.app.state.loop_reads  # type: ignore[attr-defined]
        (here,) = reads.connections._loops.values()  # opened by the reads on the loop
        assert reads.statements >= 1
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        here.connection.execute("SELECT 1")
