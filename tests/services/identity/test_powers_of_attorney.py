"""Giving and revoking a power of attorney through the API, and the platform checking its
own register on every request: the attorney acts for the grantor while the grant is
current and not a request longer; nobody but the grantor gives or revokes one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON, app_settings, mint
from samhandling.auth import DevIssuer
from samhandling.auth.claims import ACTS_FOR
from samhandling.auth.dev.personas import acting_for, persona
from samhandling.identifiers.identifier_systems import FNR_SYSTEM
from samhandling.services.identity import power_of_attorney_operations as ops

ATTORNEY = persona("attorney")  # Frida Fullmektig
GRANTOR_FNR = ATTORNEY.grantor_pid or ""  # Gunnar Fullmektig
FRIDA_FNR = ATTORNEY.pid or ""
CECILIE_FNR = persona("citizen").pid or ""
PETTER_FNR = persona("parent").pid or ""
CHILD_FNR = persona("parent").default_child_pid or ""  # under 12
ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"


def _patient(client: TestClient, fnr: str, family: str, given: str) -> str:
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
        "name": [{"family": family, "given": [given]}],
    }
    response = client.post("/fhir/Patient", json=patient, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _observation(client: TestClient, patient_id: str) -> str:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "weight"},
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    return str(client.post("/fhir/Observation", json=observation, headers=FHIR_JSON).json()["id"])


@pytest.fixture
def people(client: TestClient) -> dict[str, str]:
    """Patients of the personas (ids by name) and an Observation of the grantor and the child."""
    ids = {
        "gunnar": _patient(client, GRANTOR_FNR, "Fullmektig", "Gunnar"),
        "frida": _patient(client, FRIDA_FNR, "Fullmektig", "Frida"),
        "cecilie": _patient(client, CECILIE_FNR, "Innbygger", "Cecilie"),
        "petter": _patient(client, PETTER_FNR, "Forelder", "Petter"),
        "child": _patient(client, CHILD_FNR, "Forelder", "Ola"),
    }
    ids["gunnar-observation"] = _observation(client, ids["gunnar"])
    ids["child-observation"] = _observation(client, ids["child"])
    return ids


def _citizen(tmp_path: Path, fnr: str, *acts: tuple[str, str]) -> dict[str, str]:
    """A citizen's token claiming to act for `acts` ((national ID, relation) pairs)."""
    issuer = DevIssuer(tmp_path, app_settings("", tmp_path).dev_issuer_url)
    claims = issuer.claims_for(
        persona("citizen"),
        patient_fnr=fnr,
        purpose=None,
        dpop_jkt=None,
        lifetime=600,
        reason=None,
        scopes=None,
        authorization_details=None,
        client_id=None,
    )
    if acts:
        claims[ACTS_FOR] = [acting_for(pid, relation) for pid, relation in acts]
    return {"Authorization": f"Bearer {issuer.sign(claims)}"}


def _frida(tmp_path: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(tmp_path, 'attorney')}"}  # acts for Gunnar


def _call(
    client: TestClient, headers: dict[str, str], patient_id: str, name: str, **values: str
) -> Any:
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": k, "valueString": v} for k, v in values.items()],
    }
    return client.post(
        f"/fhir/Patient/{patient_id}/${name}", json=body, headers={**headers, **FHIR_JSON}
    )


def _grant(client: TestClient, headers: dict[str, str], patient_id: str, **values: str) -> Any:
    return _call(client, headers, patient_id, ops.GRANT, **values)


def _listing(client: TestClient, headers: dict[str, str], patient_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/fhir/Patient/{patient_id}/${ops.LIST}", headers=headers)
    assert response.status_code == 200, response.text
    return [
        {"kind": p["name"], **{x["name"]: next(v for k, v in x.items() if k.startswith("value"))
                               for x in p["part"]}}
        for p in response.json()["parameter"]
    ]  # fmt: skip


def _grants(client: TestClient) -> list[dict[str, Any]]:
    """Every RelatedPerson in the store (the system persona sees them all)."""
    return [e["resource"] for e in client.get("/fhir/RelatedPerson").json().get("entry", [])]


def test_the_attorney_acts_while_the_grant_holds_and_not_a_request_after_revocation(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    frida, gunnar = _frida(tmp_path), _citizen(tmp_path, GRANTOR_FNR)
    observation = f"/fhir/Observation/{people['gunnar-observation']}"
    assert client.get(observation, headers=frida).status_code == 404  # her claim alone: no
    given = _grant(client, gunnar, people["gunnar"], attorney=FRIDA_FNR, family=" fullmektig ")
    assert given.status_code == 201, given.text
    grant_id = given.json()["parameter"][0]["valueReference"]["reference"].split("/")[1]
    assert client.get(observation, headers=frida).status_code == 200  # the same token
    (mine,) = _listing(client, gunnar, people["gunnar"])
    assert mine["kind"] == "given" and mine["name"] == "Frida Fullmektig" and mine["current"]
    (hers,) = _listing(client, frida, people["frida"])
    assert hers["kind"] == "received" and hers["name"] == "Gunnar Fullmektig"
    assert hers["grantor"] == {"reference": f"Patient/{people['gunnar']}"}
    revoked = _call(client, gunnar, people["gunnar"], ops.REVOKE, grant=grant_id)
    assert revoked.status_code == 200, revoked.text
    assert client.get(observation, headers=frida).status_code == 404  # at once
    search = client.get(f"/fhir/Observation?patient={people['gunnar']}", headers=frida)
    assert search.status_code == 200 and not search.json().get("entry")  # nothing of his
    again = _call(client, gunnar, people["gunnar"], ops.REVOKE, grant=grant_id)
    assert again.status_code == 409
    (record,) = _grants(client)
    assert record["active"] is False and "end" in record["period"]  # kept, with its history
    assert _listing(client, gunnar, people["gunnar"]) == []
    log = client.get(f"/fhir/Patient/{people['gunnar']}/$access-log", headers=gunnar).json()
    actions = [
        {x["name"]: next(v for k, v in x.items() if k.startswith("value")) for x in a["part"]}
        for a in log["parameter"]
    ]
    own = [a["action"] for a in actions if "fullmakt" in a["action"]]
    assert own == ["trakk tilbake fullmakt", "ga fullmakt"]  # newest first
    (looked,) = [a for a in actions if a.get("representative")]
    assert looked["role"] == "fullmektig" and looked["action"] == "leste"


def test_an_expired_or_not_yet_begun_grant_gives_no_access(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    frida = _frida(tmp_path)
    observation = f"/fhir/Observation/{people['gunnar-observation']}"
    register = {
        "resourceType": "RelatedPerson",
        "active": True,
        "patient": {"reference": f"Patient/{people['gunnar']}"},
        "identifier": [{"system": FNR_SYSTEM, "value": FRIDA_FNR}],
        "relationship": [{"coding": [{"system": ROLE, "code": "POWATT"}]}],
    }
    for period in ({"end": "2020-12-31"}, {"start": "2999-01-01"}):
        written = client.post(
            "/fhir/RelatedPerson", json={**register, "period": period}, headers=FHIR_JSON
        )
        assert written.status_code == 201, written.text  # a register's feed (a system)
        assert client.get(observation, headers=frida).status_code == 404
    current = client.post(
        "/fhir/RelatedPerson", json={**register, "period": {"end": "2999-01-01"}}, headers=FHIR_JSON
    )
    assert current.status_code == 201
    assert client.get(observation, headers=frida).status_code == 200


def test_nobody_but_the_grantor_gives_or_revokes_and_no_grant_is_passed_on(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    gunnar, cecilie = _citizen(tmp_path, GRANTOR_FNR), _citizen(tmp_path, CECILIE_FNR)
    frida = _frida(tmp_path)
    # a citizen cannot give a power of attorney on someone else's behalf
    other = _grant(client, cecilie, people["gunnar"], attorney=CECILIE_FNR, family="Innbygger")
    assert other.status_code == 403 and _grants(client) == []
    given = _grant(client, gunnar, people["gunnar"], attorney=FRIDA_FNR, family="Fullmektig")
    assert given.status_code == 201
    grant_id = given.json()["parameter"][0]["valueReference"]["reference"].split("/")[1]
    # the attorney acts for Gunnar, but cannot pass the power on, nor revoke or list his
    onward = _grant(client, frida, people["gunnar"], attorney=CECILIE_FNR, family="Innbygger")
    assert onward.status_code == 403
    assert _call(client, frida, people["gunnar"], ops.REVOKE, grant=grant_id).status_code == 403
    assert (
        client.get(f"/fhir/Patient/{people['gunnar']}/${ops.LIST}", headers=frida).status_code
        == 403
    )
    # another citizen cannot revoke it through their own record either
    assert _call(client, cecilie, people["cecilie"], ops.REVOKE, grant=grant_id).status_code == 404
    # a parent cannot give one for a child
    petter = {"Authorization": f"Bearer {mint(tmp_path, 'parent')}"}
    for_child = _grant(client, petter, people["child"], attorney=CECILIE_FNR, family="Innbygger")
    assert for_child.status_code == 403
    # nor can anybody write one directly: citizens read only, health personnel by the rule
    direct = {**_grants(client)[0], "id": None}
    del direct["id"]
    assert (
        client.post(
            "/fhir/RelatedPerson", json=direct, headers={**cecilie, **FHIR_JSON}
        ).status_code
        == 403
    )
    gp = {"Authorization": f"Bearer {mint(tmp_path, 'gp', patient_fnr=GRANTOR_FNR)}"}
    by_gp = client.post("/fhir/RelatedPerson", json=direct, headers={**gp, **FHIR_JSON})
    assert by_gp.status_code == 403 and "$grant-power-of-attorney" in by_gp.text  # the rule
    neighbour = {**direct, "relationship": [{"coding": [{"system": ROLE, "code": "NBOR"}]}]}
    allowed = client.post("/fhir/RelatedPerson", json=neighbour, headers={**gp, **FHIR_JSON})
    assert allowed.status_code == 201, allowed.text  # other relations: as before
    client.delete(f"/fhir/RelatedPerson/{allowed.json()['id']}")
    (only,) = _grants(client)
    assert only["active"] is True and only["identifier"][0]["value"] == FRIDA_FNR


def test_a_claimed_power_of_attorney_without_a_grant_opens_nothing(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    claiming = _citizen(tmp_path, FRIDA_FNR, (CECILIE_FNR, "power-of-attorney"))
    cecilies = _observation(client, people["cecilie"])
    assert client.get(f"/fhir/Observation/{cecilies}", headers=claiming).status_code == 404
    read = client.get(f"/fhir/Patient/{people['cecilie']}", headers=claiming)
    assert read.status_code == 404


def test_a_parents_rights_are_unchanged(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    petter = {"Authorization": f"Bearer {mint(tmp_path, 'parent')}"}
    child = client.get(f"/fhir/Observation/{people['child-observation']}", headers=petter)
    assert child.status_code == 200  # a child under 12, with no register of powers involved


@pytest.mark.parametrize(
    ("values", "status", "message"),
    [
        ({"attorney": "14836815272", "family": "Fullmektig"}, 400, ops.NOT_A_NUMBER),
        ({"attorney": "95807302141", "family": "Fullmektig"}, 400, None),  # FH-number
        ({"attorney": GRANTOR_FNR, "family": "Fullmektig"}, 422, ops.SELF),
        ({"attorney": CHILD_FNR, "family": "Forelder"}, 422, ops.MINOR_ATTORNEY),
        ({"attorney": FRIDA_FNR, "family": "Hansen"}, 422, ops.NOT_FOUND),
        ({"attorney": "13097210181", "family": "Fullmektig"}, 422, ops.NOT_FOUND),  # nobody
        ({"attorney": FRIDA_FNR, "family": "Fullmektig", "end": "2020-01-01"}, 400, ops.END_DATE),
        ({"attorney": FRIDA_FNR}, 400, None),
    ],
)
def test_a_grant_names_an_adult_in_the_register(
    client: TestClient,
    tmp_path: Path,
    people: dict[str, str],
    values: dict[str, str],
    status: int,
    message: str | None,
) -> None:
    gunnar = _citizen(tmp_path, GRANTOR_FNR)
    refused = _grant(client, gunnar, people["gunnar"], **values)
    assert refused.status_code == status, refused.text
    if message:
        assert refused.json()["issue"][0]["diagnostics"] == message
    assert _grants(client) == []


def test_a_second_grant_to_the_same_person_is_a_conflict_and_an_end_date_is_kept(
    client: TestClient, tmp_path: Path, people: dict[str, str]
) -> None:
    gunnar = _citizen(tmp_path, GRANTOR_FNR)
    first = _grant(
        client, gunnar, people["gunnar"], attorney=FRIDA_FNR, family="Fullmektig", end="2999-12-31"
    )
    assert first.status_code == 201
    second = _grant(client, gunnar, people["gunnar"], attorney=FRIDA_FNR, family="Fullmektig")
    assert second.status_code == 409 and second.json()["issue"][0]["diagnostics"] == ops.ALREADY
    (grant,) = _grants(client)
    assert grant["period"]["end"] == "2999-12-31"
    assert grant["relationship"][0]["coding"][0]["code"] == "POWATT"
    assert grant["name"] == [{"family": "Fullmektig", "given": ["Frida"]}]
