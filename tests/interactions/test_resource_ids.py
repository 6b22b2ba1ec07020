"""Server-assigned ids are version-7 UUIDs ordered by the time they were made
(interactions/resource_ids.py): what keeps each second's inserts on the same index pages."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import Engine

from samhandling.access_guard import OpenAccess
from samhandling.interactions import crud
from samhandling.interactions.bundle import process_bundle
from samhandling.interactions.resource_ids import new_resource_id
from samhandling.store.version_writer import VersionWriter

NOW_NS = 1_796_563_188_703_849_123  # 2026-12-06T13:19:48.703849123Z


def _millis(text: str) -> int:
    return uuid.UUID(text).int >> 80


def test_an_id_is_a_version_7_uuid_carrying_its_millisecond() -> None:
    made = new_resource_id(NOW_NS)
    parsed = uuid.UUID(made)
    assert str(parsed) == made  # the canonical lower-case form, 36 characters
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert _millis(made) == NOW_NS // 1_000_000


def test_ids_made_later_sort_later_as_text() -> None:
    times = [NOW_NS + step * 1_000_000 for step in (0, 1, 2, 1_000, 86_400_000, 10**12)]
    made = [new_resource_id(at) for at in reversed(times)]
    assert sorted(made) == list(reversed(made))
    assert [_millis(text) for text in sorted(made)] == [at // 1_000_000 for at in times]


def test_ids_of_one_millisecond_differ_in_their_74_random_bits() -> None:
    made = {new_resource_id(NOW_NS) for _ in range(20_000)}
    assert len(made) == 20_000
    random_bits = {uuid.UUID(text).int & ((1 << 76) - 1) for text in made}
    assert len(random_bits) == 20_000


def _within(made: str, before_ns: int, after_ns: int) -> bool:
    return before_ns // 1_000_000 <= _millis(made) <= after_ns // 1_000_000


def test_a_create_and_a_batch_assign_time_ordered_ids(engine: Engine) -> None:
    before = time.time_ns()
    with engine.begin() as connection:
        created = crud.create(VersionWriter(connection), {"resourceType": "Patient"})
    entries: list[dict[str, Any]] = [
        {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}}
        for _ in range(3)
    ]
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": entries}
    answer = process_bundle(engine, bundle, "http://x/fhir", guard=OpenAccess(), rules=())
    after = time.time_ns()
    batch_ids = [entry["response"]["location"].split("/")[1] for entry in answer["entry"]]
    for made in [created.version.resource_id, *batch_ids]:
        assert uuid.UUID(made).version == 7 and _within(made, before, after)
