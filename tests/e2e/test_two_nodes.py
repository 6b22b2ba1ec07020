"""Two `samhandling serve` processes on one PostgreSQL database behave as one server (issue
26, stateless nodes): a client that alternates between them, as behind a load balancer,
sees every write on either node, loses no optimistic lock, cannot replay a DPoP proof on
the other node, pages a search across nodes, gets each notification once, and the audit
trail both nodes wrote verifies as one chain.

Both nodes are configured like nodes behind one load balancer: the same public base URL
(the DPoP `htu` and the development issuer's `iss` are built from it) and the same data
directory (the development issuer's signing key). The client talks to each node's own
port and sends the public URL only where a client behind a load balancer would (proofs,
the paging links, which the test readdresses to the other node).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey

from fixtures.critical_information import CITIZEN
from fixtures.databases import create_postgres_database, drop_postgres_database
from fixtures.dpop_proofs import proof
from fixtures.server_process import ServerProcess
from samhandling.audit.chain import seal_pending, verify
from samhandling.demo import population_bundles
from samhandling.services import default_platform
from samhandling.store.database import make_engine
from services.notifications.notification_kit import alert, subscription
from services.notifications.receiver import Receiver

PUBLIC_BASE = "https://fhir.samhandling.test/fhir"  # the load balancer's address
FHIR_JSON = {"Content-Type": "application/fhir+json"}


class Node(ServerProcess):
    """A server behind the load balancer: its own port, the shared public base URL."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        super().__init__(database_url, data_dir)
        self.address = self.base_url  # where the test reaches this node
        self.base_url = PUBLIC_BASE  # what the node calls itself (`--base-url`)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.address, timeout=30, headers=self.headers())

    def here(self, link: str) -> str:
        """A link the server wrote (with the public base), sent to this node instead."""
        assert link.startswith(PUBLIC_BASE), link
        return self.address + link.removeprefix(PUBLIC_BASE)


@pytest.fixture(scope="module")
def shared_database(postgres_database_url: str) -> Iterator[str]:
    """A fresh database on the shared PostgreSQL server, dropped afterwards."""
    del postgres_database_url  # PostgreSQL is there (or the test fails under CI)
    url = create_postgres_database("samhandling_nodes")
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="module")
def nodes(
    shared_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Node, Node]]:
    data_dir = tmp_path_factory.mktemp("nodes") / "data"
    a = Node(shared_database, data_dir).start()
    try:
        b = Node(shared_database, data_dir).start()
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def _patient(family: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "name": [{"family": family, "given": ["Node"]}]}


def test_a_write_on_one_node_is_read_updated_and_found_on_the_other(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    family = f"Nodeson{uuid.uuid4().hex[:8]}"
    with a.client() as on_a, b.client() as on_b:
        created = on_a.post("/Patient", json=_patient(family), headers=FHIR_JSON)
        assert created.status_code == 201, created.text
        patient_id = created.json()["id"]
        read = on_b.get(f"/Patient/{patient_id}")
        assert read.status_code == 200, read.text
        assert read.headers["ETag"] == 'W/"1"'
        changed = {**read.json(), "name": [{"family": family + "B", "given": ["Node"]}]}
        updated = on_b.put(
            f"/Patient/{patient_id}", json=changed, headers={**FHIR_JSON, "If-Match": 'W/"1"'}
        )
        assert updated.status_code == 200, updated.text
        assert updated.headers["ETag"] == 'W/"2"'
        # the version A read before B's update is stale on A as well: one lock, not two
        stale = on_a.put(
            f"/Patient/{patient_id}",
            json=_patient(family + "A") | {"id": patient_id},
            headers={**FHIR_JSON, "If-Match": 'W/"1"'},
        )
        assert stale.status_code == 412, stale.text
        found = on_a.get("/Patient", params={"family": family + "B"}).json()
        assert [e["resource"]["id"] for e in found.get("entry", [])] == [patient_id]
        assert found["entry"][0]["resource"]["meta"]["versionId"] == "2"


def test_a_dpop_proof_accepted_by_one_node_is_refused_by_the_other(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    key = ECKey.generate_key("P-256")
    token = a.token("system", dpop_jkt=key.thumbprint())
    # the proof names the public URL: both nodes check `htu` against it
    sent = proof(key, f"{PUBLIC_BASE}/Patient", token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": sent}
    assert httpx.get(f"{a.address}/Patient", headers=headers).status_code == 200
    replayed = httpx.get(f"{b.address}/Patient", headers=headers)
    assert replayed.status_code == 401, replayed.text
    assert "replay" in replayed.text.lower(), replayed.text
    fresh = {**headers, "DPoP": proof(key, f"{PUBLIC_BASE}/Patient", token)}
    assert httpx.get(f"{b.address}/Patient", headers=fresh).status_code == 200


def test_a_paged_search_started_on_one_node_continues_on_the_other(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    family = f"Pageson{uuid.uuid4().hex[:8]}"
    with a.client() as on_a, b.client() as on_b:
        written = set()
        for _ in range(5):
            created = on_a.post("/Patient", json=_patient(family), headers=FHIR_JSON)
            assert created.status_code == 201, created.text
            written.add(created.json()["id"])
        page = on_a.get("/Patient", params={"family": family, "_count": 2}).json()
        seen, pages = [], 0
        while True:
            seen += [e["resource"]["id"] for e in page.get("entry", [])]
            pages += 1
            following = [link["url"] for link in page["link"] if link["relation"] == "next"]
            if not following:
                break
            node, client = (b, on_b) if pages % 2 else (a, on_a)  # page 2 on B, 3 on A
            answer = client.get(node.here(following[0]))
            assert answer.status_code == 200, answer.text
            page = answer.json()
    assert pages == 3
    assert sorted(seen) == sorted(written)


def _load_personas(node: Node, client: httpx.Client) -> None:
    for bundle in population_bundles(0, seed=3, hooks=default_platform().demo_hooks):
        loaded = client.post(node.address, json=bundle, headers=FHIR_JSON)
        assert loaded.status_code == 200, loaded.text


def _until(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)  # waiting for other processes, not for the time of day


def test_each_notification_is_delivered_once_by_two_nodes(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    receiver = Receiver().start()
    try:
        with a.client() as on_a, b.client() as on_b:
            _load_personas(a, on_a)
            created = on_b.post("/Subscription", json=subscription(receiver.url), headers=FHIR_JSON)
            assert created.status_code == 201, created.text
            written = []
            for i in range(8):  # written alternately; both nodes run the delivery worker
                client = (on_a, on_b)[i % 2]
                sent = client.post(
                    "/Communication", json=alert(CITIZEN, f"N{i}"), headers=FHIR_JSON
                )
                assert sent.status_code == 201, sent.text
                written.append(f"Communication/{sent.json()['id']}")
            _until(lambda: len(receiver.event_numbers()) >= 8, "not all notifications came")
            time.sleep(1)  # a second delivery, if any, would come now
    finally:
        receiver.stop()
    assert receiver.event_numbers() == list(range(1, 9))
    assert receiver.focuses() == written


def test_a_search_parameter_written_on_one_node_is_searchable_on_the_other(
    nodes: tuple[Node, Node],
) -> None:
    """Each node keeps the search-parameter registry in memory and reloads the stored custom
    SearchParameters when they changed, looking at most once a second, at a search
    (`search/custom_parameters.py`; docs/SCALING.md says what a write before that look
    misses)."""
    a, b = nodes
    code = f"nick{uuid.uuid4().hex[:6]}"
    parameter = {
        "resourceType": "SearchParameter",
        "url": f"http://example.org/fhir/SearchParameter/{code}",
        "name": code,
        "status": "active",
        "description": "A patient's nickname",
        "code": code,
        "base": ["Patient"],
        "type": "string",
        "expression": "Patient.name.where(use = 'nickname').given",
    }
    nickname = {"resourceType": "Patient", "name": [{"use": "nickname", "given": ["Kalle"]}]}
    with a.client() as on_a, b.client() as on_b:
        assert on_b.get("/Patient", params={code: "kalle"}).status_code == 400  # unknown yet
        assert on_a.post("/SearchParameter", json=parameter, headers=FHIR_JSON).status_code == 201
        assert on_a.get("/Patient", params={code: "kalle"}).status_code == 200  # A looks
        written = on_a.post("/Patient", json=nickname, headers=FHIR_JSON)
        assert written.status_code == 201, written.text
        _until(
            lambda: on_b.get("/Patient", params={code: "kalle"}).status_code == 200,
            "B never learnt the new search parameter",
            timeout=5,
        )
        found = on_b.get("/Patient", params={code: "kalle"}).json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [written.json()["id"]]


def test_the_audit_trail_both_nodes_wrote_is_one_intact_chain(
    nodes: tuple[Node, Node], shared_database: str
) -> None:
    a, b = nodes
    with a.client() as on_a, b.client() as on_b:
        for client in (on_a, on_b, on_a, on_b):
            assert client.get("/Patient", params={"_count": 1}).status_code == 200
    engine = make_engine(shared_database)
    try:
        seal_pending(engine)  # link the write rows the journals have not linked yet
        report = verify(engine)
    finally:
        engine.dispose()
    assert report.ok, report
    assert report.checked > 20, report
