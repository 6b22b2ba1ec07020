"""A chunk's early answers (`interactions/batch_answers.py`): a kept create with a token
index row of the criteria's `system|value` spoils that answer, and only that one; a create
of another type spoils none; a create whose rows are not at hand spoils its type."""

from __future__ import annotations

from typing import Any

import orjson

from samhandling.fhir.indexing.values import extract_index_values
from samhandling.interactions.batch_answers import AnsweredCriteria, _Early
from samhandling.interactions.bundle_entries import BundleEntry
from samhandling.store.records import StoredVersion

SYSTEM = "urn:x"
VALUE = "run7-demo-8/85354-9/2026-12-05T08:54:20Z"
LATER = VALUE.replace("20Z", "21Z")


def kept_create(resource_type: str, body: dict[str, Any], *, indexed: bool = True) -> StoredVersion:
    """A kept create with the index values the writer extracts (or none at hand)."""
    resource = {"resourceType": resource_type, "id": "x1", **body}
    index = extract_index_values(resource) if indexed else None
    content = orjson.dumps(resource)
    return StoredVersion(resource_type, "x1", 1, 0, 1, False, content, "create", index=index)


def identified(value: str, system: str = SYSTEM) -> dict[str, Any]:
    return {"status": "final", "identifier": [{"system": system, "value": value}]}


def entry(index: int) -> BundleEntry:
    return BundleEntry(index, "POST", "Observation", None, {}, {}, ["Observation"])


def answers() -> AnsweredCriteria:
    found = AnsweredCriteria()
    for index, value in enumerate([VALUE, LATER]):
        key = f"Observation?identifier={SYSTEM}|{value}"
        found.early[index] = _Early(key, "Observation", (SYSTEM, value), [])
    found.early_types.add("Observation")
    return found


def test_a_kept_create_with_the_token_spoils_only_that_answer() -> None:
    found = answers()
    found.note_written([kept_create("Observation", identified(VALUE))])
    assert found.valid_for(entry(0)) == {}
    assert found.valid_for(entry(1)) == {found.early[1].key: []}


def test_the_token_is_matched_as_the_search_matches_it() -> None:
    """Equality of system and code: another case, another system or the value outside a
    token row is no match; the same token under any parameter is (coarse, never wrong)."""
    found = answers()
    found.note_written([
        kept_create("Observation", identified(VALUE.lower())),
        kept_create("Observation", identified(VALUE, system="urn:other")),
        kept_create("Observation", {"note": [{"text": VALUE}], "status": "final"}),
    ])  # fmt: skip
    assert found.valid_for(entry(0)) == {found.early[0].key: []}
    coded = {"code": {"coding": [{"system": SYSTEM, "code": VALUE}]}, "status": "final"}
    found.note_written([kept_create("Observation", coded)])
    assert found.valid_for(entry(0)) == {}


def test_a_create_of_another_type_spoils_nothing() -> None:
    found = answers()
    found.note_written([kept_create("Patient", identified(VALUE))])
    assert found.created == {}
    assert found.valid_for(entry(0)) == {found.early[0].key: []}


def test_each_kept_create_is_looked_at() -> None:
    found = answers()
    found.note_written([kept_create("Observation", identified(LATER[:10]))])
    found.note_written([kept_create("Observation", identified(VALUE))])
    assert found.valid_for(entry(0)) == {}
    assert found.valid_for(entry(1)) == {found.early[1].key: []}


def test_a_create_without_its_index_rows_spoils_its_type() -> None:
    found = answers()
    found.note_written([kept_create("Observation", {"status": "final"}, indexed=False)])
    assert found.valid_for(entry(0)) == found.valid_for(entry(1)) == {}
