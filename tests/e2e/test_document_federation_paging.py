"""Paging through a federated answer, with two real server processes as each other's peer.

Area A (PostgreSQL) holds seven of a patient's documents and area B (SQLite) six; two of
them are in both. A GP in B searches by national ID three at a time and follows the
merged answer's `next` links until there is none: every document arrives exactly once,
and the last page's `total` is the number of distinct documents. An altered cursor is a
400, another consumer's use of it a 403.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
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
from fixtures.server_process import ServerProcess

ONLY_A = [f"urn:uuid:a-{n}" for n in range(5)]
ONLY_B = [f"urn:uuid:b-{n}" for n in range(4)]
SHARED = ["urn:uuid:shared-0", "urn:uuid:shared-1"]
PAGE_SIZE = 3


@pytest.fixture
def areas(
    database_url: str, tmp_path: Path, sqlite_template: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """A on the test's database, B on a SQLite file, each the other's only peer."""
    b_database = tmp_path / "b.db"
    shutil.copyfile(sqlite_template, b_database)
    key_a, key_b = (jwk.ECKey.generate_key("P-256", auto_kid=True) for _ in range(2))
    a = ServerProcess(database_url, tmp_path / "a", publish_definitions=False)
    b = ServerProcess(f"sqlite:///{b_database}", tmp_path / "b", publish_definitions=False)
    issuer_of(a).register_client("federation-b", key_b.as_dict(private=True), persona_name="system")
    issuer_of(b).register_client("federation-a", key_a.as_dict(private=True), persona_name="system")
    a_peers = write_peers(
        tmp_path / "a-peers", key_a, peer_entry("area-b", b.base_url, 10, "federation-a")
    )
    b_peers = write_peers(
        tmp_path / "b-peers", key_b, peer_entry("area-a", a.base_url, 10, "federation-b")
    )
    a.env["SAMHANDLING_DOCUMENT_PEERS"] = str(a_peers)
    b.env["SAMHANDLING_DOCUMENT_PEERS"] = str(b_peers)
    try:
        a.start(timeout=120)
        b.start(timeout=120)
        yield a, b
    finally:
        b.stop()
        a.stop()


def load(client: httpx.Client, a: ServerProcess, b: ServerProcess) -> None:
    for server, masters in ((a, ONLY_A + SHARED), (b, SHARED + ONLY_B)):
        put_hospital(client, server)
        in_area = create(client, server, patient())
        for master in masters:
            data = f"%PDF-1.4 {master}".encode()
            provide(client, server, in_area, master, master.rsplit(":", 1)[1], data)


def pages(client: httpx.Client, b: ServerProcess) -> list[dict[str, Any]]:
    """Every page of the GP's search at B, following `next` until there is none."""
    headers = b.headers("gp", purpose="COC")
    params: dict[str, str] | None = {**BY_PATIENT, "_count": str(PAGE_SIZE)}
    url = f"{b.base_url}/DocumentReference"
    found = []
    while url and len(found) < 20:
        answer = client.get(url, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        bundle = answer.json()
        found.append(bundle)
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        url, params = links.get("next", ""), None
    return found


def masters(bundle: dict[str, Any]) -> list[str]:
    entries = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    return [r["masterIdentifier"]["value"] for r in entries]


def test_paging_through_two_areas_lists_every_document_once(
    areas: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = areas
    with httpx.Client(timeout=60) as client:
        load(client, a, b)
        answered = pages(client, b)
        listed = Counter(m for bundle in answered for m in masters(bundle))
        assert set(listed) == set(ONLY_A + ONLY_B + SHARED)
        assert set(listed.values()) == {1}, listed  # each exactly once
        assert len(answered) >= 3  # A's seven documents need three pages of three
        assert all(len(masters(bundle)) <= 2 * PAGE_SIZE for bundle in answered)
        assert answered[-1]["total"] == len(listed)
        first_next = next(lk["url"] for lk in answered[0]["link"] if lk["relation"] == "next")
        assert first_next.startswith(f"{b.base_url}/DocumentReference?_federated=")
        assert "05858540072" not in first_next
        cursors_are_the_consumers_own(client, b, first_next)


def cursors_are_the_consumers_own(client: httpx.Client, b: ServerProcess, url: str) -> None:
    at = url.index("_federated=") + len("_federated=") + 20
    tampered = url[:at] + ("A" if url[at] != "A" else "B") + url[at + 1 :]
    answer = client.get(tampered, headers=b.headers("gp", purpose="COC"))
    assert answer.status_code == 400, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"
    other = client.get(url, headers=b.headers("hospital-physician"))
    assert other.status_code == 403, other.text
    assert "another consumer" in other.json()["issue"][0]["diagnostics"]
    assert client.get(url).status_code == 401
    again = client.get(url, headers=b.headers("gp", purpose="COC"))
    assert again.status_code == 200, again.text  # the GP's own link still works
