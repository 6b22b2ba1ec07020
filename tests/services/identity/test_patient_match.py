"""Patient/$match (IHE PDQm ITI-119): scored, graded matches without the exact number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from identitykit import FNR, create, parameters, person, post
from starlette.testclient import TestClient

from fixtures.fhir_app import make_client

MATCH = "/fhir/Patient/$match"
GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
KARI_FNR = "05858540072"


@pytest.fixture
def people(client: TestClient) -> dict[str, dict[str, Any]]:
    return {
        "kari": create(client, person("Nordmann", "Kari", "1985-05-05", "female", KARI_FNR)),
        "ola": create(client, person("Hansen", "Ola", "1970-01-01", "male")),
        "per": create(client, person("Nordmann", "Per", "1950-02-02", "male")),
        "siri": create(client, person("Ødegård", "Siri", "1990-03-04", "female")),
    }


def match(client: TestClient, patient: dict[str, Any], **options: Any) -> dict[str, Any]:
    items = [("resource", "resource", patient)]
    items += [
        (k, "valueBoolean" if isinstance(v, bool) else "valueInteger", v)
        for k, v in options.items()
    ]
    response = post(client, MATCH, parameters(*items))
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    return bundle


def found(bundle: dict[str, Any]) -> list[tuple[str, float, str]]:
    """(id, score, grade) of each match, in order."""
    return [
        (
            e["resource"]["id"],
            e["search"]["score"],
            next(x["valueCode"] for x in e["search"]["extension"] if x["url"] == GRADE),
        )
        for e in bundle["entry"]
        if e["search"]["mode"] == "match"
    ]


def test_an_exact_identifier_is_a_certain_match(client: TestClient, people: dict) -> None:
    query = {"resourceType": "Patient", "identifier": [{"system": FNR, "value": KARI_FNR}]}
    assert found(match(client, query)) == [(people["kari"]["id"], 1.0, "certain")]


def test_name_and_birth_date_are_certain(client: TestClient, people: dict) -> None:
    result = found(match(client, person("Nordmann", "Kari", "1985-05-05", "female")))
    assert result[0][0] == people["kari"]["id"] and result[0][2] == "certain"
    assert result[0][1] >= 0.9
    assert people["per"]["id"] not in {r[0] for r in result if r[2] != "possible"}


def test_accents_and_case_do_not_matter(client: TestClient, people: dict) -> None:
    result = found(match(client, person("ODEGARD", "siri", "1990-03-04", "female")))
    assert result == [(people["siri"]["id"], 0.95, "certain")]  # all but the address agree


@pytest.mark.parametrize(
    "query",
    [
        person("Nordman", "Karin", "1985-05-05", "female"),  # misspelt names
        person("Nordmann", "Kari", "1985-05-06", "female"),  # birth day wrong
        person("Nordmann", "Kari", "1985-05-05", "male"),  # gender disagrees
    ],
)
def test_partial_agreement_is_probable(client: TestClient, people: dict, query: dict) -> None:
    result = found(match(client, query))
    assert result[0][0] == people["kari"]["id"]
    assert result[0][2] == "probable" and 0.6 <= result[0][1] < 1.0


def test_swapped_day_and_month_are_probable(client: TestClient, people: dict) -> None:
    result = found(match(client, person("Ødegård", "Siri", "1990-04-03", "female")))
    assert result[0][0] == people["siri"]["id"] and result[0][2] == "probable"


def test_nothing_unrelated_is_returned(client: TestClient, people: dict) -> None:
    assert found(match(client, person("Berg", "Anders", "1999-09-09", "male"))) == []
    result = found(match(client, person("Nordmann", "Kari", "1985-05-05", "female")))
    assert people["ola"]["id"] not in [r[0] for r in result]


def test_a_conflicting_national_id_is_certainly_not_a_match(
    client: TestClient, people: dict
) -> None:
    query = person("Nordmann", "Kari", "1985-05-05", "female", "21908345182")
    assert people["kari"]["id"] not in [r[0] for r in found(match(client, query))]


def test_only_certain_matches_and_count(client: TestClient, people: dict) -> None:
    partial = person("Nordman", "Karin", "1985-05-05", "female")
    assert found(match(client, partial, onlyCertainMatches=True)) == []
    exact = person("Nordmann", "Kari", "1985-05-05", "female")
    assert [r[0] for r in found(match(client, exact, onlyCertainMatches=True))] == [
        people["kari"]["id"]
    ]
    family_only = {"resourceType": "Patient", "name": [{"family": "Nordmann"}]}
    assert len(found(match(client, family_only))) == 2
    assert len(found(match(client, family_only, count=1))) == 1


def test_several_certain_matches_give_none_with_a_warning(client: TestClient, people: dict) -> None:
    create(client, person("Nordmann", "Kari", "1985-05-05", "female"))  # a duplicate record
    bundle = match(
        client, person("Nordmann", "Kari", "1985-05-05", "female"), onlyCertainMatches=True
    )
    assert found(bundle) == []
    assert bundle["entry"][-1]["resource"]["issue"][0]["severity"] == "warning"


def test_a_merged_patient_is_answered_by_its_successor(client: TestClient, people: dict) -> None:
    duplicate = create(client, person("Nordmann", "Kari", "1985-05-05", "female"))
    merge = parameters(
        ("source-patient", "valueReference", {"reference": f"Patient/{duplicate['id']}"}),
        ("target-patient", "valueReference", {"reference": f"Patient/{people['kari']['id']}"}),
    )
    assert post(client, "/fhir/Patient/$merge", merge).status_code == 200
    result = found(match(client, person("Nordmann", "Kari", "1985-05-05", "female")))
    assert [r[0] for r in result if r[2] == "certain"] == [people["kari"]["id"]]


def test_a_citizen_only_finds_themselves(
    client: TestClient, people: dict, database_url: str, tmp_path: Path
) -> None:
    with make_client(database_url, tmp_path, persona="citizen") as citizen:
        own = found(match(citizen, person("Nordmann", "Kari", "1985-05-05", "female")))
        assert [r[0] for r in own] == [people["kari"]["id"]]  # Kari carries the persona's FNR
        assert found(match(citizen, person("Hansen", "Ola", "1970-01-01", "male"))) == []


@pytest.mark.parametrize(
    "body",
    [
        parameters(),
        parameters(("resource", "resource", {"resourceType": "Observation"})),
        parameters(("resource", "resource", {"resourceType": "Patient"})),
        parameters(("resource", "resource", {"resourceType": "Patient", "gender": 7})),
        parameters(
            ("resource", "resource", person("A", "B", "1990-01-01", "male")),
            ("count", "valueInteger", 0),
        ),
    ],
)
def test_bad_requests_are_refused(client: TestClient, body: dict) -> None:
    response = post(client, MATCH, body)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
