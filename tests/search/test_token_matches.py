"""Many `identifier=system|value` searches in one statement give each search's own answer."""

from __future__ import annotations

from typing import Any

import pytest
from searchkit import SearchStore
from sqlalchemy import event

from samhandling.access_guard import OPEN_ACCESS
from samhandling.search.restriction import SearchRestriction
from samhandling.search.token_matches import token_matches
from samhandling.store.database import read_connection, write_connection
from samhandling.store.version_writer import VersionWriter

SID = "urn:example:measurement"
OTHER = "urn:example:other"
ONLY_P1 = SearchRestriction(patient_ids=frozenset({"p1"}))
SECRET = SearchRestriction(hidden=lambda r: "secret" in str(r.get("note", "")))
VALUES = [
    f"{SID}|m1",  # one match
    f"{SID}|twice",  # two resources carry it: ambiguous
    f"{SID}|gone",  # only a deleted resource carried it
    f"{SID}|elsewhere",  # the value under another system only
    f"{SID}|p2-only",  # in p2's compartment
    f"{SID}|hidden",  # hidden by SECRET
    f"{SID}|a|b",  # a value with a bar
    f"{SID}|none",
    f"{SID}|m1",  # the same criteria twice
]


def observation(rid: str, patient: str, *values: str, system: str = SID) -> dict[str, Any]:
    found: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "identifier": [{"system": system, "value": v} for v in values],
    }
    if rid == "o-hidden":
        found["note"] = [{"text": "secret"}]
    return found


def world(store: SearchStore) -> None:
    store.put(
        {"resourceType": "Patient", "id": "p1"},
        {"resourceType": "Patient", "id": "p2"},
        observation("o-m1", "p1", "m1", "extra"),
        observation("o-twice-1", "p1", "twice"),
        observation("o-twice-2", "p1", "twice"),
        observation("o-gone", "p1", "gone"),
        observation("o-elsewhere", "p1", "elsewhere", system=OTHER),
        observation("o-p2", "p2", "p2-only"),
        observation("o-hidden", "p1", "hidden"),
        observation("o-bar", "p1", "a|b"),
    )
    store.delete("Observation", "o-gone")


def one_statement(
    store: SearchStore, restriction: SearchRestriction | None, values: list[str], most: int = 100
) -> dict[str, list[str]] | None:
    with read_connection(store.engine) as connection:
        return token_matches(
            connection, "Observation", "identifier", values, restriction, first=2, most=most
        )


@pytest.mark.parametrize("restriction", [None, ONLY_P1, SECRET], ids=["open", "p1", "secret"])
def test_each_value_is_answered_as_its_own_search(
    store: SearchStore, restriction: SearchRestriction | None
) -> None:
    world(store)
    answers = one_statement(store, restriction, VALUES)
    assert answers is not None
    for value in VALUES:
        alone = store.found("Observation", f"identifier={value}", restriction=restriction)
        assert set(answers[value]) == alone, value
    assert answers[f"{SID}|twice"] == ["o-twice-1", "o-twice-2"]
    assert answers[f"{SID}|a|b"] == ["o-bar"]
    assert answers[f"{SID}|gone"] == answers[f"{SID}|elsewhere"] == []
    assert (answers[f"{SID}|p2-only"] == []) == (restriction is ONLY_P1)
    assert (answers[f"{SID}|hidden"] == []) == (restriction is SECRET)


def test_more_matches_than_allowed_or_other_criteria_are_left_to_single_searches(
    store: SearchStore,
) -> None:
    world(store)
    assert one_statement(store, None, [f"{SID}|twice"], most=1) is None
    assert one_statement(store, None, [f"{SID}|twice"], most=2) == {
        f"{SID}|twice": ["o-twice-1", "o-twice-2"]
    }
    assert one_statement(store, None, ["m1"]) is None  # no system
    assert one_statement(store, None, [f"{SID}|x,y"]) is None  # a list
    assert one_statement(store, None, []) is None


def test_only_matches_are_judged_by_the_hidden_test(store: SearchStore) -> None:
    """The hidden test notes what the caller was shown (the audit trail): a resource with
    the value under another system is read by the statement but is no match."""
    world(store)
    judged: list[str] = []

    def hidden(resource: dict[str, Any]) -> bool:
        judged.append(resource["id"])
        return False

    answers = one_statement(store, SearchRestriction(hidden=hidden), [f"{SID}|elsewhere"])
    assert answers == {f"{SID}|elsewhere": []}
    assert judged == []
    one_statement(store, SearchRestriction(hidden=hidden), [f"{SID}|m1", f"{SID}|elsewhere"])
    assert judged == ["o-m1"]


def test_fifty_values_are_one_statement_of_few_parameters(store: SearchStore) -> None:
    """On PostgreSQL the codes are one array parameter: the statement's text is the same
    for any number of values and has few enough parameters for psycopg to keep its parse
    (`code IN (…)` had one per value); SQLite keeps `IN`. The answers are unchanged."""
    world(store)
    values = [f"{SID}|m1", *(f"{SID}|absent-{n}" for n in range(60))]
    seen: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "index_token" in statement:
            seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        answers = one_statement(store, None, values)
        one_statement(store, None, values[:3])
    finally:
        event.remove(store.engine, "before_cursor_execute", note)
    assert answers is not None and answers[f"{SID}|m1"] == ["o-m1"]
    assert all(answers[v] == [] for v in values[1:])
    (sixty_one, _), (three, _) = seen
    if store.engine.dialect.name == "postgresql":
        assert sixty_one == three and "ANY" in sixty_one
        # the codes go in binary: psycopg's text form tests each for the quotes it needs
        assert "ANY (%(codes)b" in sixty_one, sixty_one
        assert all(len(parameters) < 10 for _, parameters in seen)
    else:
        assert sixty_one != three  # one placeholder per value


ODD_VALUES = ['say "hi"', "{braces}", "NULL", "null", "two words", "Bjørn/æ", "'quoted'", "x"]


def test_values_an_array_literal_would_quote_are_matched_exactly(store: SearchStore) -> None:
    """The array's elements go in binary on PostgreSQL: a value with quotes, braces,
    spaces or the word NULL is matched as itself, and only by itself."""
    store.put(
        {"resourceType": "Patient", "id": "p1"},
        *(observation(f"o-odd-{n}", "p1", value) for n, value in enumerate(ODD_VALUES)),
    )
    values = [f"{SID}|{value}" for value in ODD_VALUES] + [f"{SID}|hi", f"{SID}|braces"]
    answers = one_statement(store, None, values)
    assert answers is not None
    for n, value in enumerate(ODD_VALUES):
        alone = store.found("Observation", f"identifier={SID}|{value}")
        assert f"o-odd-{n}" in answers[f"{SID}|{value}"], value
        assert set(answers[f"{SID}|{value}"]) == alone, value
    assert answers[f"{SID}|hi"] == answers[f"{SID}|braces"] == []


def test_a_write_transaction_finds_the_rows_it_queued(store: SearchStore) -> None:
    """A batch chunk's look-up runs in the chunk's write transaction: the index rows its
    writers queued for the commit are inserted before the statement reads (on PostgreSQL
    it goes past SQLAlchemy's statement events, which would do that)."""
    world(store)
    with write_connection(store.engine) as connection:
        writer = VersionWriter(connection, OPEN_ACCESS, (), queued_creates=True)
        body = observation("o-queued", "p1", "queued")
        writer.write("Observation", "o-queued", body, method="create", previous=None, new_id=True)
        answers = token_matches(
            connection, "Observation", "identifier", [f"{SID}|queued", f"{SID}|m1"], None,
            first=2, most=10,
        )  # fmt: skip
    assert answers == {f"{SID}|queued": ["o-queued"], f"{SID}|m1": ["o-m1"]}


def test_the_statement_is_planned_for_its_values_without_a_statement_of_its_own(
    store: SearchStore,
) -> None:
    """PostgreSQL: never prepared (psycopg prepares a statement run five times, and
    PostgreSQL may then plan it once for any values), and no `SET LOCAL plan_cache_mode`
    sent for it."""
    if store.engine.dialect.name != "postgresql":
        return
    world(store)
    sent: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        with read_connection(store.engine) as connection:
            before = _prepared(connection)
            for _ in range(8):
                answers = token_matches(
                    connection, "Observation", "identifier", [f"{SID}|m1"], None, first=2, most=9
                )
                assert answers == {f"{SID}|m1": ["o-m1"]}
            prepared = _prepared(connection) - before
    finally:
        event.remove(store.engine, "before_cursor_execute", note)
    assert prepared == set()
    assert sum("index_token" in s for s in sent) == 8
    assert not any("plan_cache_mode" in s for s in sent)


def _prepared(connection: Any) -> set[str]:
    """The statements prepared on the connection (its earlier users' too: it is pooled)."""
    found = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements")
    return {str(statement) for (statement,) in found}
