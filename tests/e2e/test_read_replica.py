"""A real server with a read replica: read-your-writes by the commit position (issue 26).

A private PostgreSQL primary and a streaming replica (tests/fixtures/replica_pair.py), one
real `samhandling serve` process with `SAMHANDLING_DATABASE_REPLICA_URL` and a staleness
bound of an hour (so that a read without a position is served by the replica even while its
replay is paused: that is what shows where a read ran). The server's own count of routed
reads by database (`/metrics`) says the same.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from fixtures.replica_pair import ReplicaPair, replica_marks, replica_pair
from fixtures.server_process import ServerProcess
from samhandling.audit.chain import seal_pending, verify
from samhandling.store.database import make_engine

pytestmark = replica_marks()
HEADER = "X-Samhandling-Consistency"
FHIR_JSON = {"Content-Type": "application/fhir+json"}
LSN = re.compile(r"[0-9A-F]{1,8}/[0-9A-F]{1,8}")


@pytest.fixture(scope="module")
def pair() -> Iterator[ReplicaPair]:
    with replica_pair() as made:
        yield made


@pytest.fixture(scope="module")
def server(pair: ReplicaPair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "SAMHANDLING_DATABASE_REPLICA_URL": pair.replica_url,
        "SAMHANDLING_REPLICA_MAX_LAG_SECONDS": "3600",
        "SAMHANDLING_BACKGROUND_WORKERS": "0",
    }
    data_dir = tmp_path_factory.mktemp("replica") / "data"
    process = ServerProcess(pair.primary_url, data_dir, env=env).start(timeout=90)
    yield process
    process.stop()


@pytest.fixture
def client(server: ServerProcess, pair: ReplicaPair) -> Iterator[httpx.Client]:
    pair.resume_replay()
    pair.caught_up()
    with httpx.Client(base_url=server.base_url, timeout=30, headers=server.headers()) as made:
        yield made
    pair.resume_replay()


def _served(server: ServerProcess) -> dict[str, float]:
    page = httpx.get(server.base_url.removesuffix("/fhir") + "/metrics").text
    found = re.findall(r'samhandling_routed_reads_total\{database="(\w+)"\} ([0-9.e+]+)', page)
    return {database: float(count) for database, count in found}


def _create(client: httpx.Client, family: str) -> tuple[str, str]:
    patient = {"resourceType": "Patient", "name": [{"family": family}]}
    created = client.post("Patient", json=patient, headers=FHIR_JSON)
    assert created.status_code == 201, created.text
    position = created.headers[HEADER]
    assert LSN.fullmatch(position), position
    return created.json()["id"], position


def test_a_write_then_a_read_with_its_position_sees_the_write_while_replay_is_paused(
    server: ServerProcess, pair: ReplicaPair, client: httpx.Client
) -> None:
    pair.pause_replay()
    family = f"Paused{uuid.uuid4().hex[:8]}"
    patient_id, position = _create(client, family)
    before = _served(server)

    assert client.get(f"Patient/{patient_id}").status_code == 404  # the replica: not replayed
    with_position = {HEADER: position}
    read = client.get(f"Patient/{patient_id}", headers=with_position)
    assert read.status_code == 200, read.text  # the primary
    found = client.get("Patient", params={"family": family}, headers=with_position).json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [patient_id]
    history = client.get(f"Patient/{patient_id}/_history", headers=with_position).json()
    assert history["total"] == 1
    assert client.get("Patient", params={"family": family}).json()["total"] == 0  # replica

    after = _served(server)
    assert after["replica"] - before["replica"] == 2  # the two reads without the position
    assert after["primary"] - before["primary"] == 3

    pair.resume_replay()
    pair.wait_replayed(position)
    assert client.get(f"Patient/{patient_id}", headers=with_position).status_code == 200
    assert _served(server)["replica"] - after["replica"] == 1  # replayed: the replica again


def test_an_update_read_back_with_its_position_shows_the_new_version(
    pair: ReplicaPair, client: httpx.Client
) -> None:
    patient_id, _ = _create(client, "Before")
    pair.caught_up()
    pair.pause_replay()
    changed = {"resourceType": "Patient", "id": patient_id, "name": [{"family": "After"}]}
    updated = client.put(f"Patient/{patient_id}", json=changed, headers=FHIR_JSON)
    assert updated.status_code == 200, updated.text

    stale = client.get(f"Patient/{patient_id}")
    assert stale.headers["ETag"] == 'W/"1"'  # without the position: the replica's version
    fresh = client.get(f"Patient/{patient_id}", headers={HEADER: updated.headers[HEADER]})
    assert fresh.headers["ETag"] == 'W/"2"'
    assert fresh.json()["name"][0]["family"] == "After"


def test_reads_without_writes_are_served_by_the_replica_and_a_search_pages_across(
    server: ServerProcess, client: httpx.Client
) -> None:
    family = f"Paged{uuid.uuid4().hex[:8]}"
    ids = {_create(client, family)[0] for _ in range(3)}
    client.get("metadata")  # not a routed read
    before = _served(server)
    first = client.get("Patient", params={"family": family, "_count": "1"}).json()
    seen = [first["entry"][0]["resource"]["id"]]
    after_first = _served(server)
    assert after_first["replica"] - before["replica"] == 1  # its paging cache on the primary
    link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    while link:
        page = client.get(link.replace(server.base_url, "")).json()
        seen += [e["resource"]["id"] for e in page["entry"]]
        link = next((x["url"] for x in page["link"] if x["relation"] == "next"), "")
    assert sorted(seen) == sorted(ids)
    assert _served(server) == after_first  # later pages: not routed, read on the primary


def test_a_malformed_position_is_a_400_operation_outcome(client: httpx.Client) -> None:
    refused = client.get("Patient/anything", headers={HEADER: "0/0; DROP TABLE resource"})
    assert refused.status_code == 400
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert HEADER in refused.json()["issue"][0]["diagnostics"]


def test_reads_do_not_answer_with_a_position_and_the_audit_trail_is_on_the_primary(
    server: ServerProcess, pair: ReplicaPair, client: httpx.Client
) -> None:
    patient_id, _ = _create(client, "Audited")
    pair.caught_up()
    events = "SELECT count(*) FROM audit_event"
    before, served = pair.sql(pair.primary_url, events), _served(server)["replica"]
    read = client.get(f"Patient/{patient_id}")
    assert read.status_code == 200
    assert _served(server)["replica"] == served + 1
    assert HEADER not in read.headers
    assert pair.sql(pair.primary_url, events) == before + 1  # the read's record: on the primary
    engine = make_engine(pair.primary_url)
    try:
        seal_pending(engine)
        assert verify(engine).ok
    finally:
        engine.dispose()
