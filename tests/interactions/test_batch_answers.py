"""A chunk's early answers (`interactions/batch_answers.py`): a kept create whose JSON holds
the criteria's value (case folded) spoils that answer, and only that one; a create of
another type spoils none."""

from __future__ import annotations

import orjson

from samhandling.interactions.batch_answers import AnsweredCriteria, _Early
from samhandling.interactions.bundle_entries import BundleEntry
from samhandling.store.records import StoredVersion

VALUE = "run7-demo-8/85354-9/2026-12-05t08:54:20z"
LATER = VALUE.replace("20z", "21z")


def kept_create(resource_type: str, body: dict[str, object]) -> StoredVersion:
    content = orjson.dumps({"resourceType": resource_type, **body})
    return StoredVersion(resource_type, "x1", 1, 0, 1, False, content, "create")


def entry(index: int) -> BundleEntry:
    return BundleEntry(index, "POST", "Observation", None, {}, {}, ["Observation"])


def answers() -> AnsweredCriteria:
    found = AnsweredCriteria()
    for index, value in enumerate([VALUE, LATER]):
        key = f"Observation?identifier=urn:x|{value}"
        found.early[index] = _Early(key, "Observation", value, [])
    found.early_types.add("Observation")
    return found


def test_a_kept_create_holding_the_value_spoils_only_that_answer() -> None:
    found = answers()
    found.note_written([kept_create("Observation", {"identifier": [{"value": VALUE.upper()}]})])
    assert found.valid_for(entry(0)) == {}  # case folded: the JSON holds the value
    assert found.valid_for(entry(1)) == {found.early[1].key: []}


def test_a_create_of_another_type_spoils_nothing() -> None:
    found = answers()
    found.note_written([kept_create("Patient", {"identifier": [{"value": VALUE}]})])
    assert found.created == {}
    assert found.valid_for(entry(0)) == {found.early[0].key: []}


def test_a_value_in_a_later_kept_create_spoils_too() -> None:
    """The kept creates' JSON is one text per type: each create in it is looked at."""
    found = answers()
    found.note_written([kept_create("Observation", {"note": [{"text": LATER[:10]}]})])
    found.note_written([kept_create("Observation", {"identifier": [{"value": VALUE}]})])
    assert found.valid_for(entry(0)) == {}
    assert found.valid_for(entry(1)) == {found.early[1].key: []}
