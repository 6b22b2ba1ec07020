"""A rerun of a batch chunk starts from the entries as sent (`batch._AsSent`): kept as
their JSON text and parsed again only for a rerun, or copied up front where that text
would not give them back (a body parsed exactly, with `WrittenDecimal`s)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select

from fixtures.batch_faults import deadlock_once
from samhandling.access_guard import OpenAccess
from samhandling.fhir.json_codec import WrittenDecimal
from samhandling.interactions import batch
from samhandling.interactions.bundle import process_bundle
from samhandling.interactions.bundle_entries import parse_bundle
from samhandling.interactions.resource_input import parse_json
from samhandling.store.database import read_connection
from samhandling.store.schema import resource

MID = "urn:example:measurement"


def body(value: str, quantity: str = "70") -> bytes:
    """A batch Bundle's JSON: a conditional create, a search (no resource) and a delete of
    nothing (404: its chunk runs again, with savepoints)."""
    observation = (
        '{"resourceType":"Observation","status":"final",'
        f'"identifier":[{{"system":"{MID}","value":"{value}"}}],'
        '"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},'
        f'"valueQuantity":{{"value":{quantity},"code":"/min"}}}}'
    )
    request = f'{{"method":"POST","url":"Observation","ifNoneExist":"identifier={MID}|{value}"}}'
    entries = (
        f'{{"resource":{observation},"request":{request}}},'
        '{"request":{"method":"GET","url":"Observation?identifier=x|y"}},'
        '{"request":{"method":"DELETE","url":"Observation/none"}}'
    )
    return f'{{"resourceType":"Bundle","type":"batch","entry":[{entries}]}}'.encode()


def mutate(entries: list[Any]) -> None:
    """What an attempt does to the bodies it runs (ids, rewritten references, meta)."""
    for entry in entries:
        entry.request["url"] = "changed"
        if isinstance(entry.resource, dict):
            entry.resource["id"] = "assigned"
            entry.resource["valueQuantity"]["value"] = 0


@pytest.mark.parametrize(("quantity", "as_text"), [("70.5", True), ("70.50", False)])
def test_the_entries_as_sent_come_back_equal_and_of_the_same_types(
    quantity: str, as_text: bool
) -> None:
    _, entries = parse_bundle(parse_json(body("m1", quantity)))
    _, expected = parse_bundle(parse_json(body("m1", quantity)))
    sent = batch._AsSent.of(entries)
    assert (sent.text is not None) is as_text  # a WrittenDecimal is copied up front
    mutate(entries)
    again = sent.entries()
    assert again == expected
    value = again[0].resource["valueQuantity"]["value"]
    assert type(value) is (float if as_text else WrittenDecimal)
    assert again[1].resource is None and again[2].resource is None
    mutate(again)
    assert sent.entries() == expected  # every rerun gets fresh copies


def test_a_null_in_a_body_is_copied_up_front() -> None:
    """orjson writes NaN as null: a body holding one is not kept as text."""
    entry = batch.BundleEntry(0, "POST", "Observation", None, {"v": float("nan")}, {}, [])
    sent = batch._AsSent.of([entry])
    assert sent.text is None
    assert orjson.dumps(sent.entries()[0].resource) == b'{"v":null}'  # the same NaN back


def test_a_rerun_of_an_exactly_parsed_body_stores_its_decimals_as_written(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadlock_once(monkeypatch)
    for value, quantity in (("r-exact", "70.50"), ("r-plain", "70.5")):
        bundle = parse_json(body(value, quantity))
        response = process_bundle(engine, bundle, "http://x/fhir", guard=OpenAccess(), rules=())
        assert [e["response"]["status"][:3] for e in response["entry"]] == ["201", "200", "404"]
        rid = response["entry"][0]["response"]["location"].split("/")[1]
        with read_connection(engine) as connection:
            stored = connection.execute(
                select(resource.c.content).where(resource.c.resource_id == rid)
            ).scalar_one()
        assert f'"value":{quantity},'.encode() in bytes(stored)
