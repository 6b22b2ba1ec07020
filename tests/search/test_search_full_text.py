"""Full text: `_content`, `_text` (R4 §3.1.1.5.x) and `:text` on tokens and strings.

Run on SQLite (FTS5) and PostgreSQL (tsvector); both index the same folded words.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from searchkit import SearchStore
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON
from samhandling.fhir.outcome import FhirError
from samhandling.search.restriction import SearchRestriction

SNOMED = "http://snomed.info/sct"
XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">{}</div>'


def condition(rid: str, patient: str = "p1", narrative: str | None = None, **fields: Any) -> dict:
    body: dict[str, Any] = {
        "resourceType": "Condition",
        "id": rid,
        "subject": {"reference": f"Patient/{patient}"},
        **fields,
    }
    if narrative is not None:
        body["text"] = {"status": "generated", "div": XHTML.format(narrative)}
    return body


def world(store: SearchStore) -> None:
    store.put(
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"family": "Ødegård", "given": ["Bjørn"]}],
        },
        {"resourceType": "Patient", "id": "p2", "name": [{"family": "Hansen"}]},
        condition(
            "narrative",
            narrative="<p>Pasienten har <b>hjertesvikt</b> etter infarkt.</p>",
            code={"coding": [{"system": SNOMED, "code": "84114007", "display": "Heart failure"}]},
        ),
        condition(
            "note",
            note=[{"text": "Mistenkt hjertesvikt, kontroll om tre uker"}],
            code={"coding": [{"system": SNOMED, "code": "38341003"}], "text": "Hypertensjon"},
        ),
        condition(
            "other",
            patient="p2",
            narrative="<p>Astma</p>",
            note=[{"text": "hjertesvikt hos mor"}],
        ),
    )


def test_content_finds_a_word_in_any_element(store: SearchStore) -> None:
    world(store)
    assert store.found("Condition", "_content=hjertesvikt") == {"narrative", "note", "other"}
    assert store.found("Condition", "_content=hypertensjon") == {"note"}  # CodeableConcept.text
    assert store.found("Condition", "_content=84114007") == {"narrative"}  # a code
    assert store.found("Condition", "_content=failure") == {"narrative"}  # a display
    assert store.found("Patient", "_content=bjørn") == {"p1"}


def test_text_finds_narrative_words_only(store: SearchStore) -> None:
    world(store)
    assert store.found("Condition", "_text=hjertesvikt") == {"narrative"}
    assert store.found("Condition", "_text=astma") == {"other"}
    assert store.found("Condition", "_text=hypertensjon") == set()
    assert store.found("Condition", "_text=generated") == set()  # not the narrative's status
    assert store.found("Condition", "_content=astma") == {"other"}  # narrative is content too


def test_words_are_and_ed_and_values_or_ed(store: SearchStore) -> None:
    world(store)
    assert store.found("Condition", "_content=hjertesvikt mor") == {"other"}
    assert store.found("Condition", "_content=mor hjertesvikt") == {"other"}
    assert store.found("Condition", "_content=astma,hypertensjon") == {"other", "note"}
    assert store.found("Condition", "_content=hjertesvikt&_content=kontroll") == {"note"}


def test_norwegian_letters_fold_like_string_search(store: SearchStore) -> None:
    world(store)
    for word in ("Ødegård", "odegard", "ODEGÅRD", "Bjorn", "BJØRN"):
        assert store.found("Patient", f"_content={word}") == {"p1"}, word
    assert store.found("Condition", "_content=HJERTESVIKT") == {"narrative", "note", "other"}


def test_words_match_as_prefixes_not_stems(store: SearchStore) -> None:
    """The documented choice: a search word matches words it starts; no stemming."""
    world(store)
    assert store.found("Condition", "_text=hjerte") == {"narrative"}  # compound head
    assert store.found("Condition", "_text=pasient") == {"narrative"}  # "pasienten"
    assert store.found("Condition", "_text=pasientene") == set()  # no stemming back
    assert store.found("Condition", "_text=svikt") == set()  # not inside a word


def test_updated_and_deleted_resources_lose_their_old_words(store: SearchStore) -> None:
    world(store)
    store.put(condition("note", note=[{"text": "Diabetes type 2"}]))
    assert store.found("Condition", "_content=kontroll") == set()
    assert store.found("Condition", "_content=diabetes") == {"note"}
    store.delete("Condition", "narrative")
    assert store.found("Condition", "_text=hjertesvikt") == set()
    assert store.found("Condition", "_content=failure") == set()


ALL = {"narrative", "note", "other"}


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [('"hjertesvikt', ALL), ("hjertesvikt*", ALL), ("-hjertesvikt", ALL), ("hjertesvikt)", ALL),
     ("{hjertesvikt}", ALL), ("^hjertesvikt", ALL), ("hjertesvikt:*", ALL), ("'hjertesvikt'", ALL),
     ('hjertesvikt" OR "astma', set()), ("NEAR(hjertesvikt mor)", set()),
     ("_text:hjertesvikt", set()), ("hjertesvikt AND NOT mor", set()), ("mor & !x", set()),
     ("hjertesvikt mor*", {"other"}), ('"hjertesvikt mor"', {"other"})],
)  # fmt: skip
def test_query_syntax_in_values_is_only_a_separator(
    store: SearchStore, hostile: str, expected: set[str]
) -> None:
    """FTS5 and tsquery operators are not operators: their words are searched words."""
    world(store)
    assert store.found("Condition", "_content=" + hostile.replace("&", "%26")) == expected


@pytest.mark.parametrize("value", ['"', "*", "(", "-", ":", "()", "''", " ", "_", "&|!"])
def test_a_value_without_words_is_400(store: SearchStore, value: str) -> None:
    world(store)
    with pytest.raises(FhirError) as raised:
        store.found("Condition", "_content=" + value)
    assert raised.value.status == 400


def test_modifiers_and_types_without_the_parameter_are_refused(store: SearchStore) -> None:
    with pytest.raises(FhirError) as raised:
        store.found("Condition", "_content:exact=x")
    assert raised.value.status == 400
    with pytest.raises(FhirError) as raised:
        store.found("Bundle", "_text=x")  # _text is a DomainResource parameter
    assert raised.value.status == 400
    with pytest.raises(FhirError) as raised:
        store.found("Condition", "_sort=_content")  # no value to sort by
    assert raised.value.status == 400
    with pytest.raises(FhirError) as raised:
        store.found("Condition", "_content.name=x")
    assert raised.value.status == 400


def test_restriction_narrows_full_text_and_chains(store: SearchStore) -> None:
    world(store)
    only_p1 = SearchRestriction(patient_ids=frozenset({"p1"}))
    assert store.found("Condition", "_content=hjertesvikt", restriction=only_p1) == {
        "narrative",
        "note",
    }
    assert store.found("Condition", "_content=mor", restriction=only_p1) == set()
    chained = "subject:Patient._content=hansen"
    assert store.found("Condition", chained) == {"other"}
    assert store.found("Condition", chained, restriction=only_p1) == set()
    assert store.found("Patient", "_has:Condition:subject:_content=mor") == {"p2"}
    assert store.found("Patient", "_has:Condition:subject:_content=mor", restriction=only_p1) == (
        set()
    )


def test_text_on_tokens_takes_several_words(store: SearchStore) -> None:
    store.put(
        condition(
            "display",
            code={"coding": [{"system": SNOMED, "code": "1", "display": "Akutt hjerteinfarkt"}]},
        ),
        condition("other", code={"coding": [{"system": SNOMED, "code": "2", "display": "Akutt"}]}),
    )
    assert store.found("Condition", "code:text=hjerteinfarkt akutt") == {"display"}
    assert store.found("Condition", "code:text=akutt") == {"display", "other"}


def test_text_on_strings_matches_words(store: SearchStore) -> None:
    store.put(
        {"resourceType": "Organization", "id": "a", "name": "Sykehuset i Vestfold"},
        {"resourceType": "Organization", "id": "b", "name": "Vestre Viken"},
    )
    assert store.found("Organization", "name:text=vestfold") == {"a"}
    assert store.found("Organization", "name=vestfold") == set()  # plain: starts with
    assert store.found("Organization", "name:text=vest") == {"a", "b"}
    assert store.found("Organization", "name:text=vestfold sykehus") == {"a"}


def test_http_full_text_and_hostile_strings(client: TestClient) -> None:
    for body in (
        {"resourceType": "Patient", "id": "p1"},
        condition("c1", narrative="<p>Bjørn har hjertesvikt</p>"),
    ):
        url = f"/fhir/{body['resourceType']}/{body['id']}"
        response = client.put(url, content=orjson.dumps(body), headers=FHIR_JSON)
        assert response.status_code in (200, 201), response.text
    found = client.get("/fhir/Condition", params={"_text": "bjørn hjertesvikt"})
    assert found.status_code == 200
    assert [e["resource"]["id"] for e in found.json()["entry"]] == ["c1"]
    for hostile in ('"', "*", "NEAR(", "-", ":", 'x" OR "y', "hjertesvikt*", "\\", "%", "\x00"):
        response = client.get("/fhir/Condition", params={"_content": hostile})
        assert response.status_code in (200, 400), (hostile, response.text)
    system = client.get("/fhir", params={"_content": "hjertesvikt"})
    assert system.status_code == 200, system.text
    assert [e["resource"]["id"] for e in system.json()["entry"]] == ["c1"]
    in_compartment = client.get("/fhir/Patient/p1/Condition", params={"_content": "bjorn"})
    assert [e["resource"]["id"] for e in in_compartment.json()["entry"]] == ["c1"]
