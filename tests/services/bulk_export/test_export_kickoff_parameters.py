"""The Bulk Data 2.0 kick-off parameters: `patient` by POST, the output formats, GET and
POST alike, and `Prefer: handling=strict|lenient` for the parameters not supported."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import Response

from fixtures.bulk_export import ASYNC, Store

LENIENT = {"Prefer": "respond-async, handling=lenient"}
VERY_RESTRICTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
    "code": "V",
}


def _parameters(*patients: str, **values: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        {"name": "patient", "valueReference": {"reference": reference}} for reference in patients
    ]
    found += [{"name": name, "valueString": value} for name, value in values.items()]
    return {"resourceType": "Parameters", "parameter": found}


def _post(
    store: Store, path: str, body: dict[str, Any], headers: dict[str, str] = ASYNC
) -> Response:
    return store.client.post(path, json=body, headers=headers)


def _diagnostics(answer: Response) -> str:
    return " ".join(i.get("diagnostics", "") for i in answer.json()["issue"])


def test_the_patient_parameter_limits_a_patient_export_to_those_patients(store: Store) -> None:
    first, second, third = store.patients
    body = _parameters(f"Patient/{first}", f"http://testserver/fhir/Patient/{third}")
    answer = _post(store, "/fhir/Patient/$export", body)
    assert answer.status_code == 202, answer.text
    status_url = answer.headers["Content-Location"]
    assert store.worker().run_once()
    exported = store.exported(status_url)
    assert {p["id"] for p in exported["Patient"]} == {first, third}
    expected = set(store.observations[first]) | set(store.observations[third])
    assert {o["id"] for o in exported["Observation"]} == expected
    assert second not in {o["subject"]["reference"].split("/")[-1] for o in exported["Observation"]}
    # a POST kick-off's request URL is given without its parameters (Bulk Data 2.0)
    assert store.manifest(status_url)["request"] == "http://testserver/fhir/Patient/$export"
    officer = store.headers(persona="security-officer")
    found = store.client.get("/fhir/AuditEvent", params={"_count": "100"}, headers=officer)
    (event,) = [
        e["resource"]
        for e in found.json()["entry"]
        if "completed" in e["resource"].get("outcomeDesc", "")
    ]
    named = {e.get("what", {}).get("reference") for e in event["entity"]}
    assert {f"Patient/{first}", f"Patient/{third}"} <= named
    assert f"Patient/{second}" not in named  # what left names the patients, only them


def test_an_unknown_or_withheld_patient_is_refused_naming_it(store: Store) -> None:
    first = store.patients[0]
    unknown = _post(
        store, "/fhir/Patient/$export", _parameters(f"Patient/{first}", "Patient/ingen")
    )
    assert unknown.status_code == 400
    assert "Patient/ingen" in _diagnostics(unknown)
    assert f"Patient/{first}" not in _diagnostics(unknown)
    hidden = store.create(
        {"resourceType": "Patient", "meta": {"security": [VERY_RESTRICTED]}, "gender": "female"}
    )
    withheld = _post(store, "/fhir/Patient/$export", _parameters(f"Patient/{hidden}"))
    assert withheld.status_code == 400
    assert f"Patient/{hidden}" in _diagnostics(withheld)
    # the same words for both: a withheld patient is not told apart from an unknown one
    assert _diagnostics(withheld).replace(hidden, "ingen") == _diagnostics(unknown).replace(
        f"Patient/{first}, ", ""
    )


def test_the_patient_parameter_of_a_group_export_must_name_members(store: Store) -> None:
    first, second, _ = store.patients
    group = {
        "resourceType": "Group",
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": f"Patient/{p}"}} for p in (first, second)],
    }
    group_id = store.create(group)
    path = f"/fhir/Group/{group_id}/$export"
    outsider = store.patients[2]
    refused = _post(store, path, _parameters(f"Patient/{outsider}"))
    assert refused.status_code == 400
    assert f"Patient/{outsider}" in _diagnostics(refused)
    assert f"Group/{group_id}" in _diagnostics(refused)
    answer = _post(store, path, _parameters(f"Patient/{second}", _type="Patient,Observation"))
    assert answer.status_code == 202, answer.text
    assert store.worker().run_once()
    exported = store.exported(answer.headers["Content-Location"])
    assert [p["id"] for p in exported["Patient"]] == [second]
    assert {o["id"] for o in exported["Observation"]} == set(store.observations[second])


@pytest.mark.parametrize(
    ("path", "reference"),
    [
        ("/fhir/$export", "Patient/x"),  # not a parameter of a system export
        ("/fhir/Patient/$export", "Observation/x"),
        ("/fhir/Patient/$export", "Patient/"),
    ],
)
def test_a_patient_parameter_that_cannot_apply_is_400(
    store: Store, path: str, reference: str
) -> None:
    answer = _post(store, path, _parameters(reference))
    assert answer.status_code == 400, answer.text
    assert "patient" in _diagnostics(answer)


def test_get_and_post_kick_offs_take_the_same_parameters(store: Store) -> None:
    first = store.patients[0]
    query = {"_type": "Observation", "_elements": "status", "_since": "2000-01-01T00:00:00Z"}
    by_get = store.kick_off("/fhir/Patient/$export", **query)
    answer = _post(store, "/fhir/Patient/$export", _parameters(f"Patient/{first}", **query))
    assert answer.status_code == 202, answer.text
    by_post = answer.headers["Content-Location"]
    assert store.worker().run_once() and store.worker().run_once()
    from_get = store.exported(by_get)
    from_post = store.exported(by_post)
    assert set(from_get) == set(from_post) == {"Observation"}
    assert len(from_get["Observation"]) == 6
    assert {o["id"] for o in from_post["Observation"]} == set(store.observations[first])
    assert all(
        "valueQuantity" not in o and o["status"] == "final" for o in from_post["Observation"]
    )
    assert "_type=Observation" in store.manifest(by_get)["request"]


@pytest.mark.parametrize(
    "output_format", ["application/fhir+ndjson", "application/ndjson", "ndjson"]
)
def test_every_ndjson_output_format_name_is_accepted(store: Store, output_format: str) -> None:
    store.kick_off("/fhir/$export", _outputFormat=output_format)
    answer = _post(store, "/fhir/$export", _parameters(_outputFormat=output_format))
    assert answer.status_code == 202, answer.text


@pytest.mark.parametrize(
    ("name", "value"),
    [("includeAssociatedData", "_mittOppsett"), ("_until", "2030-01-01")],
)
def test_an_unsupported_parameter_is_400_unless_handling_is_lenient(
    store: Store, name: str, value: str
) -> None:
    strict = store.client.get("/fhir/Patient/$export", params={name: value}, headers=ASYNC)
    assert strict.status_code == 400
    assert name in _diagnostics(strict)
    explicit = {"Prefer": "respond-async, handling=strict"}
    posted = _post(store, "/fhir/Patient/$export", _parameters(**{name: value}), explicit)
    assert posted.status_code == 400
    lenient = store.client.get("/fhir/Patient/$export", params={name: value}, headers=LENIENT)
    assert lenient.status_code == 202, lenient.text
    warnings = [i for i in lenient.json()["issue"] if i["severity"] == "warning"]
    assert [w["expression"] for w in warnings] == [[name]]
    assert store.worker().run_once()
    exported = store.exported(lenient.headers["Content-Location"])
    assert len(exported["Patient"]) == 3  # the export ran as if the parameter was absent


def test_the_general_format_parameter_is_not_an_unsupported_kick_off_parameter(
    store: Store,
) -> None:
    answer = store.client.get("/fhir/$export", params={"_format": "json"}, headers=ASYNC)
    assert answer.status_code == 202, answer.text


def test_a_type_that_is_no_r4_resource_type_is_400(store: Store) -> None:
    answer = store.client.get("/fhir/$export", params={"_type": "Patient,Pasient"}, headers=ASYNC)
    assert answer.status_code == 400
    assert "Pasient" in _diagnostics(answer)


def test_lenient_handling_may_come_in_a_second_prefer_header(store: Store) -> None:
    two = [("Prefer", "respond-async"), ("Prefer", "handling=lenient")]
    answer = store.client.get("/fhir/$export", params={"_until": "2030-01-01"}, headers=two)
    assert answer.status_code == 202, answer.text


def test_the_patient_parameter_is_also_taken_from_a_get_query(store: Store) -> None:
    first = store.patients[0]
    status_url = store.kick_off("/fhir/Patient/$export", patient=f"Patient/{first}")
    assert store.worker().run_once()
    exported = store.exported(status_url)
    assert [p["id"] for p in exported["Patient"]] == [first]
    assert {o["id"] for o in exported["Observation"]} == set(store.observations[first])
