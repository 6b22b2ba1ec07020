"""CodeSystem/$lookup, CodeSystem/$validate-code, ValueSet/$validate-code and ValueSet/$expand
through the app, as different personas (they carry no patient data: everyone may use them)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fixtures.databases import migrate
from fixtures.fhir_app import make_client, mint
from samhandling.terminology import ATC_SYSTEM, SNOMED_SYSTEM, VALUE_SET_BASE, volven_system
from samhandling.terminology.content import code_systems

V7497 = volven_system(7497)
REACTION = VALUE_SET_BASE + "kj-reaction-manifestation"
SUBSTANCE = VALUE_SET_BASE + "kj-allergy-substance"
PERSONAS = ["gp", "hospital-physician", "pharmacist", "citizen", "system"]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    """One app on SQLite (the operations touch no database besides the audit trail)."""
    data_dir = tmp_path_factory.mktemp("terminology")
    url = f"sqlite:///{data_dir / 'samhandling.db'}"
    migrate(url)
    with make_client(url, data_dir, persona=None) as client:
        yield client, data_dir


@pytest.fixture(scope="module")
def token(app: tuple[TestClient, Path]) -> Any:
    return functools.cache(lambda persona: mint(app[1], persona))


def call(
    app: tuple[TestClient, Path],
    token: Any,
    path: str,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    persona: str = "system",
) -> Any:
    headers = {"Authorization": f"Bearer {token(persona)}"}
    client = app[0]
    if body is None:
        return client.get(f"/fhir/{path}", params=params, headers=headers)
    headers["Content-Type"] = "application/fhir+json"
    return client.post(f"/fhir/{path}", json=body, headers=headers)


def parameters(*items: tuple[str, str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": name, kind: value} for name, kind, value in items],
    }


def out(response: Any) -> dict[str, Any]:
    """The output Parameters of a 200 response as {name: value or [parts ...]}."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Parameters"
    found: dict[str, Any] = {}
    for item in body["parameter"]:
        value = next((v for k, v in item.items() if k.startswith("value")), None)
        if "part" in item:
            found.setdefault(item["name"], []).append(item["part"])
        else:
            found[item["name"]] = value
    return found


def issue(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return str(body["issue"][0]["diagnostics"])


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_persona_may_look_up_a_code(app: Any, token: Any, persona: str) -> None:
    response = call(
        app, token, "CodeSystem/$lookup", {"system": ATC_SYSTEM, "code": "J01CA04"}, persona=persona
    )
    result = out(response)
    assert result["name"] == "ATCSubset"
    assert result["display"] == "amoxicillin"
    assert [{"name": "code", "valueCode": "parent"}, {"name": "value", "valueCode": "J01CA"}] in (
        result["property"]
    )


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_persona_may_validate_and_expand(app: Any, token: Any, persona: str) -> None:
    query = {"url": REACTION, "system": V7497, "code": "1"}
    assert out(call(app, token, "ValueSet/$validate-code", query, persona=persona))["result"]
    query = {"url": V7497, "code": "1"}
    assert out(call(app, token, "CodeSystem/$validate-code", query, persona=persona))["result"]
    expanded = call(app, token, "ValueSet/$expand", {"url": REACTION}, persona=persona)
    assert expanded.status_code == 200, expanded.text


def test_terminology_still_needs_a_token(app: Any) -> None:
    response = app[0].get("/fhir/CodeSystem/$lookup", params={"system": V7497, "code": "1"})
    assert response.status_code == 401


def test_lookup_by_coding_in_a_post(app: Any, token: Any) -> None:
    body = parameters(("coding", "valueCoding", {"system": V7497, "code": "5"}))
    result = out(call(app, token, "CodeSystem/$lookup", body=body, persona="citizen"))
    assert result["display"] == "Astma" and result["name"] == "Volven7497"


def test_lookup_returns_definitions_and_designations(app: Any, token: Any) -> None:
    system = "urn:oid:2.16.840.1.113883.1.11.20448"
    result = out(call(app, token, "CodeSystem/$lookup", {"system": system, "code": "TREAT"}))
    assert result["designation"] == [
        [{"name": "language", "valueCode": "nb"}, {"name": "value", "valueString": "Behandling"}]
    ]
    codes = [part[0]["valueCode"] for part in result["property"]]
    assert "definition" in codes
    only = out(
        call(
            app,
            token,
            "CodeSystem/$lookup",
            {"system": system, "code": "ETREAT", "property": "parent"},
        )
    )
    assert only["property"] == [
        [{"name": "code", "valueCode": "parent"}, {"name": "value", "valueCode": "TREAT"}]
    ]
    assert "designation" not in only


@pytest.mark.parametrize(
    ("system", "code", "message"),
    [
        (V7497, "99", "7497 has no code '99'"),
        (ATC_SYSTEM, "J01CA99", "well-formed but not bundled"),
        (SNOMED_SYSTEM, "91936006", "fails its Verhoeff check digit"),
        ("http://example.org/unknown", "1", "is not known to this server"),
    ],
)
def test_lookup_of_an_unknown_code_is_404(
    app: Any, token: Any, system: str, code: str, message: str
) -> None:
    response = call(app, token, "CodeSystem/$lookup", {"system": system, "code": code})
    assert message in issue(response, 404)


def test_a_version_is_checked_only_where_the_code_system_has_one(
    app: Any, token: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = {"system": V7497, "code": "1", "version": "2024"}
    assert out(call(app, token, "CodeSystem/$lookup", query))["display"]  # 7497 has no version
    versioned = dataclasses.replace(code_systems()[V7497], version="2013")
    monkeypatch.setitem(code_systems(), V7497, versioned)
    assert "Version '2024' of 7497 is not known" in issue(
        call(app, token, "CodeSystem/$lookup", query), 404
    )
    check = out(call(app, token, "CodeSystem/$validate-code", {**query, "url": V7497}))
    assert check["result"] is False and "Version '2024'" in check["message"]


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("CodeSystem/$lookup", {}, "is required"),
        ("CodeSystem/$lookup", {"code": "1"}, "Parameter system is required with code"),
        ("CodeSystem/$validate-code", {"display": "x"}, "is required"),
        ("ValueSet/$validate-code", {"system": V7497, "code": "1"}, "Parameter url"),
        ("ValueSet/$validate-code", {"url": REACTION, "code": "1"}, "system is required"),
        ("ValueSet/$expand", {}, "Parameter url"),
        ("ValueSet/$expand", {"url": REACTION, "count": "-1"}, "count must be an integer"),
    ],
)
def test_missing_or_bad_parameters_are_400(
    app: Any, token: Any, path: str, query: dict[str, str], message: str
) -> None:
    assert message in issue(call(app, token, path, query), 400)


def test_code_system_validate_code_results(app: Any, token: Any) -> None:
    def check(**query: str) -> dict[str, Any]:
        return out(call(app, token, "CodeSystem/$validate-code", query, persona="pharmacist"))

    assert check(url=ATC_SYSTEM, code="N02BE01") == {"result": True, "display": "paracetamol"}
    wrong = check(url=ATC_SYSTEM, code="N02BE01", display="ibuprofen")
    # R4: a true result may carry "hints and warnings" in its message.
    assert wrong["result"] is True and "expected 'paracetamol'" in wrong["message"]
    assert wrong["display"] == "paracetamol"
    norwegian = check(url=ATC_SYSTEM, code="J01CE02", display="Fenoksymetylpenicillin")
    assert norwegian == {"result": True, "display": "phenoxymethylpenicillin"}
    assert check(system=V7497, code="99") == {"result": False, "message": "7497 has no code '99'"}
    structural = check(url=SNOMED_SYSTEM, code="22298006")
    assert structural["result"] is True and "structure only" in structural["message"]
    assert "display" not in structural
    refused = check(url=ATC_SYSTEM, code="J01C1")
    assert refused["result"] is False
    assert refused["message"].startswith("ATC code 'J01C1' is not a valid ATC code")
    unknown = check(url="http://loinc.org", code="1234-5")
    assert unknown["result"] is False and "not known" in unknown["message"]


def test_code_system_validate_code_with_a_codeable_concept(app: Any, token: Any) -> None:
    concept = {
        "coding": [
            {"system": "http://local.example/codes", "code": "x1"},
            {"system": ATC_SYSTEM, "code": "B01AA03", "display": "Warfarin"},
        ]
    }
    body = parameters(
        ("url", "valueUri", ATC_SYSTEM), ("codeableConcept", "valueCodeableConcept", concept)
    )
    result = out(call(app, token, "CodeSystem/$validate-code", body=body))
    assert result == {"result": True, "display": "warfarin"}


def test_value_set_validate_code_results(app: Any, token: Any) -> None:
    def check(**query: str) -> dict[str, Any]:
        return out(call(app, token, "ValueSet/$validate-code", query, persona="citizen"))

    assert check(url=SUBSTANCE, system=ATC_SYSTEM, code="J01CE02")["result"] is True
    assert check(url=SUBSTANCE, system=volven_system(7514), code="14", display="latex") == {
        "result": True,
        "display": "Latex",
    }
    wrong = check(url=SUBSTANCE, system=volven_system(7514), code="14", display="Melk")
    assert wrong == {
        "result": True,
        "message": "Wrong display 'Melk' for 7514 code '14': expected 'Latex'",
        "display": "Latex",
    }
    norwegian = check(
        url=SUBSTANCE, system=ATC_SYSTEM, code="J01CE02", display="Fenoksymetylpenicillin"
    )
    assert norwegian == {"result": True, "display": "phenoxymethylpenicillin"}
    not_in = check(url=REACTION, system=volven_system(7498), code="1")
    assert not_in["result"] is False and "is not in the value set" in not_in["message"]
    unknown = check(url=VALUE_SET_BASE + "nope", system=V7497, code="1")
    assert unknown["result"] is False and "not known" in unknown["message"]


def test_value_set_validate_code_by_coding_and_codeable_concept(app: Any, token: Any) -> None:
    coding = {"system": V7497, "code": "9", "display": "Angioødem/alvorlig generalisert urticaria"}
    body = parameters(("url", "valueUri", REACTION), ("coding", "valueCoding", coding))
    assert out(call(app, token, "ValueSet/$validate-code", body=body))["result"] is True
    concept = {"coding": [{"system": V7497, "code": "77"}, {"system": V7497, "code": "78"}]}
    body = parameters(
        ("url", "valueUri", REACTION), ("codeableConcept", "valueCodeableConcept", concept)
    )
    result = out(call(app, token, "ValueSet/$validate-code", body=body, persona="gp"))
    assert result == {"result": False, "message": "7497 has no code '77'; 7497 has no code '78'"}


def test_expand_a_volven_value_set_with_paging(app: Any, token: Any) -> None:
    response = call(app, token, "ValueSet/$expand", {"url": REACTION, "count": "5", "offset": "5"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "ValueSet" and body["url"] == REACTION
    expansion = body["expansion"]
    assert expansion["total"] == 20 and expansion["offset"] == 5
    assert [c["code"] for c in expansion["contains"]] == ["6", "7", "8", "9", "10"]
    assert expansion["contains"][0] == {
        "system": V7497,
        "code": "6",
        "display": "Uspesifisert tung pust",
    }
    assert "extension" not in expansion and expansion["timestamp"]


def test_expand_with_a_filter(app: Any, token: Any) -> None:
    query = {"url": REACTION, "filter": "hud"}
    body = call(app, token, "ValueSet/$expand", query, persona="hospital-physician").json()
    assert [c["code"] for c in body["expansion"]["contains"]] == ["10", "11"]
    assert {"name": "filter", "valueString": "hud"} in body["expansion"]["parameter"]


def test_expanding_atc_and_snomed_wholesale_is_too_costly(app: Any, token: Any) -> None:
    response = call(app, token, "ValueSet/$expand", {"url": SUBSTANCE})
    assert "too large to expand" in issue(response, 400)
    assert response.json()["issue"][0]["code"] == "too-costly"


def test_a_filter_makes_a_wholesale_expansion_possible_but_unclosed(app: Any, token: Any) -> None:
    body = parameters(("url", "valueUri", SUBSTANCE), ("filter", "valueString", "warfarin"))
    response = call(app, token, "ValueSet/$expand", body=body, persona="pharmacist")
    assert response.status_code == 200, response.text
    expansion = response.json()["expansion"]
    assert {"system": ATC_SYSTEM, "code": "B01AA03", "display": "warfarin"} in expansion["contains"]
    assert expansion["extension"] == [
        {"url": "http://hl7.org/fhir/StructureDefinition/valueset-unclosed", "valueBoolean": True}
    ]


def test_expand_of_an_unknown_value_set_is_404(app: Any, token: Any) -> None:
    response = call(app, token, "ValueSet/$expand", {"url": VALUE_SET_BASE + "nope"})
    assert "is not known" in issue(response, 404)


def test_a_supplied_value_set_resource_is_refused(app: Any, token: Any) -> None:
    resource = {"resourceType": "ValueSet", "status": "active"}
    body = parameters(("valueSet", "resource", resource))
    assert "not supported" in issue(call(app, token, "ValueSet/$expand", body=body), 400)
