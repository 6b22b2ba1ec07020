"""A de-identified research export (`_deidentify=<project>`) of the demo world: no national
ID, name or exact birth date of any patient survives; references still join; pseudonyms
are stable per project and differ between projects; only configured clients get one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from fixtures.bulk_export import ASYNC, Store
from fixtures.fhir_app import FHIR_JSON
from samhandling.demo.population import population_bundles
from samhandling.identifiers.person_numbers import is_valid_person_number
from samhandling.services import default_platform

RESEARCH_CLIENT = "forskning-app"
ELEVEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{11}(?![0-9])")


@pytest.fixture
def projects(store: Store) -> dict[str, str]:
    """Two projects for the research client; its headers."""
    config = {"projects": {p: {"clients": [RESEARCH_CLIENT]} for p in ("diabetes", "hjerte")}}
    (store.data_dir / "research-projects.json").write_text(json.dumps(config))
    # Fixed keys: with a random key, a shifted date now and then equals another patient's
    # unshifted one (a coincidence, not a leak) and the date assertions would flake.
    keys = store.data_dir / "research-keys"
    keys.mkdir(mode=0o700)
    for n, project in enumerate(("diabetes", "hjerte")):
        (keys / f"{project}.key").write_bytes(bytes(range(n, n + 32)))
    return store.headers(client_id=RESEARCH_CLIENT)


@pytest.fixture
def research(store: Store, projects: dict[str, str]) -> dict[str, str]:
    """`projects`, with the demo population (the personas' households and 30 generated
    citizens, with fødselsnummer, names, addresses and the services' clinical data)
    beside the small store."""
    for bundle in population_bundles(30, seed=25, hooks=default_platform().demo_hooks):
        answer = store.client.post("/fhir", json=bundle, headers=FHIR_JSON)
        assert answer.status_code == 200, answer.text
    return projects


def _export(store: Store, headers: dict[str, str], **params: str) -> dict[str, list[Any]]:
    answer = store.client.get("/fhir/$export", params=params, headers={**headers, **ASYNC})
    assert answer.status_code == 202, answer.text
    status_url = answer.headers["Content-Location"]
    assert store.worker().run_once()
    found: dict[str, list[Any]] = {}
    manifest = store.client.get(status_url, headers=headers).json()
    for entry in manifest["output"]:
        lines = store.lines(entry["url"], headers)
        found.setdefault(entry["type"], []).extend(lines)
    return found


def _text(exported: dict[str, list[Any]]) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for rs in exported.values() for r in rs)


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node["reference"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _joins(exported: dict[str, list[Any]]) -> tuple[int, int]:
    """(references that name an exported resource as `Type/id`, references that do not)."""
    ids = {f"{r['resourceType']}/{r['id']}" for rs in exported.values() for r in rs}
    found = [ref in ids for rs in exported.values() for r in rs for ref in _references(r)]
    return sum(found), len(found) - sum(found)


def test_no_national_id_name_or_birth_date_survives(store: Store, research: dict[str, str]) -> None:
    identified = _export(store, {})
    patients = identified["Patient"]
    assert len(patients) > 10
    numbers = {i["value"] for p in patients for i in p.get("identifier", [])}
    assert any(is_valid_person_number(n) for n in numbers)  # the world has fødselsnummer
    output = _export(store, research, _deidentify="diabetes")
    text = _text(output)
    assert len(output["Patient"]) == len(patients)
    assert not [n for n in ELEVEN_DIGITS.findall(text) if is_valid_person_number(n)]
    assert not [n for n in numbers if n in text]
    names = {
        part
        for p in patients
        for name in p.get("name", [])
        for part in [name.get("family", ""), *name.get("given", [])]
        if len(part) > 2
    }
    assert names
    assert not [n for n in names if re.search(rf"\b{re.escape(n)}\b", text)]
    births = {p["birthDate"] for p in patients if len(p.get("birthDate", "")) == 10}
    assert births and not [b for b in births if b in text]
    assert {len(p.get("birthDate", "")) for p in output["Patient"]} <= {0, 4}
    assert not [r for rs in output.values() for r in rs if "text" in r]
    # references still join (an absolute one becomes `Type/pseudonym` and joins too)
    joined, dangling = _joins(output)
    assert joined >= _joins(identified)[0] > 0 and dangling <= _joins(identified)[1]


def test_pseudonyms_are_stable_per_project_and_differ_between_projects(
    store: Store, research: dict[str, str]
) -> None:
    first = _export(store, research, _deidentify="diabetes", _type="Patient,Observation")
    again = _export(store, research, _deidentify="diabetes", _type="Patient,Observation")
    other = _export(store, research, _deidentify="hjerte", _type="Patient,Observation")
    ids = {r["id"] for r in first["Patient"]}
    assert ids == {r["id"] for r in again["Patient"]}
    assert first["Observation"] == again["Observation"]  # dates shifted the same way too
    assert not ids & {r["id"] for r in other["Patient"]}
    assert not ids & set(store.patients)
    key = (store.data_dir / "research-keys" / "diabetes.key").read_bytes()
    assert key.hex() not in _text(first) and len(key) == 32


def test_dates_are_shifted_per_patient(store: Store, research: dict[str, str]) -> None:
    identified = _export(store, {}, _type="Observation")["Observation"]
    shifted = _export(store, research, _deidentify="diabetes", _type="Observation")
    when = {r.get("effectiveDateTime") for r in identified} - {None}
    assert when and not when & {r.get("effectiveDateTime") for r in shifted["Observation"]}


def test_only_a_projects_clients_get_it_and_research_clients_get_nothing_else(
    store: Store, projects: dict[str, str]
) -> None:
    research = projects

    def kick_off(headers: dict[str, str], **params: str) -> int:
        answer = store.client.get("/fhir/$export", params=params, headers={**headers, **ASYNC})
        return answer.status_code

    assert kick_off(research) == 403  # identified data: not for a research client
    assert kick_off(research, _deidentify="ukjent") == 403
    assert kick_off(research, _deidentify="../diabetes") == 400
    assert kick_off({}, _deidentify="diabetes") == 403  # the system is not in the project
    assert kick_off(research, _deidentify="diabetes") == 202
    name_filter = {"_typeFilter": "Patient?family=Eksport0", "_type": "Patient"}
    assert kick_off(research, _deidentify="diabetes", **name_filter) == 400
    assert kick_off(research, _deidentify="diabetes", _typeFilter="Patient?gender=female") == 202
