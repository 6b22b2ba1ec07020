"""Every valid official R4 example round-trips: create → read → equal apart from meta."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON
from fixtures.shared_data import shared_data_dir
from samhandling.fhir.validation import validate_resource
from samhandling.store.reader import read_current


def example_files() -> list[Path]:
    try:
        folder = shared_data_dir() / "fhir-test-cases" / "r4" / "examples"
    except pytest.skip.Exception:
        return []
    return sorted(folder.glob("*.json"))


def without_volatile_meta(resource: dict) -> dict:
    copy = dict(resource)
    meta = {k: v for k, v in copy.pop("meta", {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        copy["meta"] = meta
    return copy


def stored_resource(client: TestClient, rtype: str, rid: str) -> dict:
    with client.app.state.engine.connect() as connection:  # type: ignore[attr-defined]
        version = read_current(connection, rtype, rid)
    assert version is not None
    return version.resource()


def test_examples_are_present() -> None:
    assert len(example_files()) >= 70


def test_every_valid_example_round_trips(client: TestClient) -> None:
    round_tripped = 0
    for path in example_files():
        example = orjson.loads(path.read_bytes())
        if [i for i in validate_resource(example) if i.severity == "error"]:
            continue  # a genuinely invalid example: the validator's own tests cover those
        rtype = example["resourceType"]
        if rtype == "AuditEvent":
            continue  # never writable through the API: the trail writes its own
        example.setdefault("id", path.stem.replace("_", "-")[:64])
        if rtype == "Subscription":
            # A classic criteria subscription the server cannot honour is refused, never
            # accepted and ignored (docs/NOTIFICATIONS.md; tested there): the example asks
            # for a payload, and classic subscriptions are delivered as empty notifications.
            url = f"/fhir/{rtype}/{example['id']}"
            refused = client.put(url, content=orjson.dumps(example), headers=FHIR_JSON)
            assert refused.status_code == 422, (path.name, refused.text)
            assert "Subscription.channel.payload" in refused.text
            continue
        response = client.put(
            f"/fhir/{rtype}/{example['id']}", content=orjson.dumps(example), headers=FHIR_JSON
        )
        assert response.status_code in (200, 201), (path.name, response.text)
        read = client.get(f"/fhir/{rtype}/{example['id']}")
        if read.status_code == 403:
            # Withheld from systems by its security label (the policy's rule, tested in
            # tests/auth): compare what the store holds instead.
            assert "security label" in read.text
            stored = stored_resource(client, rtype, example["id"])
        else:
            stored = read.json()
        if rtype == "Binary":
            # The bytes live in the content store (docs/DOCUMENT_SHARING.md) and come back
            # as canonical base64: the same bytes, without the example's line spaces.
            assert base64.b64decode(stored.pop("data")) == base64.b64decode(
                "".join(example.pop("data").split())
            ), path.name
        assert without_volatile_meta(stored) == without_volatile_meta(example), path.name
        round_tripped += 1
    assert round_tripped >= 66  # 72 examples, 4 genuinely invalid R4, 1 AuditEvent, 1 Subscription
