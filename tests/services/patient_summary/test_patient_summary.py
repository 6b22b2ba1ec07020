"""`$summary`: IPS sections from the services, no-info entries, access, lab delay, signing."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fixtures.critical_information import CITIZEN, World, entered_in_error, procedural_change
from fixtures.fhir_app import FHIR_JSON
from fixtures.lab_results import reason, submission, submit
from fixtures.patient_summary import GP_PRACTITIONER, fill
from fixtures.shared_data import shared_data_dir
from samhandling.services.patient_summary import archive, signing
from samhandling.services.patient_summary.gather import is_active_flag
from samhandling.services.patient_summary.sections import ABSENT_UNKNOWN

REQUIRED = {"48765-2", "10160-0", "11450-4"}


def _summary(world: World, persona: str, patient: str = CITIZEN, **params: str) -> Any:
    url = f"/fhir/Patient/{patient}/$summary"
    return world.client.get(url, params=params, headers=world.as_(persona))


def _sections(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    composition = bundle["entry"][0]["resource"]
    return {s["code"]["coding"][0]["code"]: s for s in composition["section"]}


def _resolved(bundle: dict[str, Any], reference: str) -> dict[str, Any]:
    found = [e["resource"] for e in bundle["entry"] if e["fullUrl"] == reference]
    assert len(found) == 1, reference
    return found[0]


def _references(value: Any) -> list[str]:
    if isinstance(value, list):
        return [r for item in value for r in _references(item)]
    if not isinstance(value, dict):
        return []
    found = [value["reference"]] if isinstance(value.get("reference"), str) else []
    return found + [r for k, v in value.items() if k != "contained" for r in _references(v)]


def _validate(world: World, bundle: dict[str, Any]) -> list[dict[str, Any]]:
    answer = world.client.post(
        "/fhir/Bundle/$validate", json=bundle, headers={**FHIR_JSON, **world.as_("gp")}
    )
    assert answer.status_code == 200, answer.text
    return [i for i in answer.json().get("issue", []) if i["severity"] in ("error", "fatal")]


def test_a_filled_summary_is_a_valid_ips_document(world: World) -> None:
    fill(world)
    response = _summary(world, "gp")
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "document"
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0]["code"] == "60591-5"
    assert _resolved(bundle, composition["subject"]["reference"])["id"] == CITIZEN
    assert _resolved(bundle, composition["author"][0]["reference"])["resourceType"] == (
        "Organization"
    )
    sections = _sections(bundle)
    assert REQUIRED | {"46264-8", "30954-2"} <= set(sections)
    for reference in _references([e["resource"] for e in bundle["entry"]]):
        if not reference.startswith("#"):
            _resolved(bundle, reference)  # every reference resolves inside the Bundle
    allergy = _resolved(bundle, sections["48765-2"]["entry"][0]["reference"])
    assert allergy["code"]["text"] == "Fenoksymetylpenicillin"
    medication = _resolved(bundle, sections["10160-0"]["entry"][0]["reference"])
    assert medication["medicationCodeableConcept"]["text"] == "Simvastatin 20 mg"
    assert "Epilepsi" in sections["11450-4"]["text"]["div"]
    assert "<table>" in sections["48765-2"]["text"]["div"]
    assert _validate(world, bundle) == []


def test_breaking_one_element_gives_its_issue(world: World) -> None:
    fill(world)
    bundle = _summary(world, "gp").json()
    bundle["entry"][0]["resource"]["status"] = "signed-off"
    bundle["entry"][0]["resource"]["section"][0]["text"]["div"] = (
        '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>'
    )
    issues = _validate(world, bundle)
    where = {i["expression"][0] for i in issues}
    assert "Bundle.entry[0].resource.ofType(Composition).status" in where
    assert any("txt-1" in i["diagnostics"] for i in issues)


def test_an_empty_patient_has_the_required_sections_with_no_info_entries(world: World) -> None:
    bundle = _summary(world, "gp", language="en").json()
    sections = _sections(bundle)
    assert set(sections) == REQUIRED
    for section in sections.values():
        entry = _resolved(bundle, section["entry"][0]["reference"])
        concept = entry.get("code") or entry["medicationCodeableConcept"]
        assert concept["coding"][0]["system"] == ABSENT_UNKNOWN
        assert "No information recorded." in section["text"]["div"]
    assert bundle["entry"][0]["resource"]["title"] == "International Patient Summary"
    assert _validate(world, bundle) == []


def test_the_citizen_sees_their_own_summary_not_others(world: World) -> None:
    assert _summary(world, "citizen").status_code == 200
    assert _summary(world, "citizen", patient="persona-parent").status_code == 404
    assert _summary(world, "gp", language="xx").status_code == 400


def test_the_lab_delay_applies_inside_the_summary(world: World) -> None:
    submit(world, submission(CITIZEN, datetime.now(UTC) - timedelta(days=400)))
    submit(world, submission(CITIZEN, datetime.now(UTC) - timedelta(hours=1), "PAT"))
    for persona, shown in (("gp", 2), ("citizen", 1)):
        bundle = _summary(world, persona).json()
        types = [e["resource"]["resourceType"] for e in bundle["entry"]]
        assert types.count("DiagnosticReport") == shown, persona
        assert types.count("Observation") == shown, persona  # not even through report.result


def test_a_blocked_result_is_not_in_the_citizens_summary(world: World) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=400)
    submit(world, submission(CITIZEN, long_ago))
    blocked = submit(world, submission(CITIZEN, long_ago))["DiagnosticReport"][0]
    answer = world.client.post(
        f"/fhir/DiagnosticReport/{blocked}/$block",
        json=reason("samtale først"),
        headers={**FHIR_JSON, **world.as_("gp")},
    )
    assert answer.status_code == 200, answer.text
    for persona, shown in (("gp", 2), ("citizen", 1)):
        bundle = _summary(world, persona).json()
        reports = [e["resource"] for e in bundle["entry"]]
        ids = {r["id"] for r in reports if r["resourceType"] == "DiagnosticReport"}
        assert len(ids) == shown and (blocked in ids) == (persona == "gp"), persona
        types = [r["resourceType"] for r in reports]
        assert types.count("Observation") == shown, persona  # not through report.result
    assert "samtale først" not in json.dumps(bundle)  # the citizen's: not even the reason


def test_the_summary_is_signed_and_a_tampered_copy_fails(world: World) -> None:
    fill(world)
    bundle = _summary(world, "gp").json()
    keys = world.client.get("/fhir/$summary-signing-keys", headers=world.as_("gp"))
    assert keys.status_code == 200, keys.text
    jwks = json.loads(keys.json()["parameter"][0]["valueString"])
    assert signing.verify(bundle, jwks)
    tampered = copy.deepcopy(bundle)
    tampered["entry"][0]["resource"]["title"] = "Endret"
    try:
        signing.verify(tampered, jwks)
    except signing.SignatureInvalid:
        pass
    else:
        raise AssertionError("a tampered summary verified")


def test_by_national_id_and_audited_as_one_access(world: World) -> None:
    url = "/fhir/Patient/$summary?identifier=05858540072"
    assert world.client.get(url, headers=world.as_("gp")).status_code == 200
    events = world.client.get(
        "/fhir/AuditEvent", params={"patient": CITIZEN}, headers=world.as_("security-officer")
    )
    assert events.status_code == 200, events.text
    calls = [
        e["resource"]
        for e in events.json().get("entry", [])
        if "$summary" in json.dumps(e["resource"].get("entity", []))
    ]
    assert len(calls) == 1, [c.get("entity") for c in calls]


def test_everything_pages_the_compartment(world: World) -> None:
    fill(world)
    url = f"/fhir/Patient/{CITIZEN}/$everything"
    first = world.client.get(url, params={"_count": "2"}, headers=world.as_("gp"))
    assert first.status_code == 200, first.text
    page = first.json()
    assert len([e for e in page["entry"] if e["search"]["mode"] == "match"]) == 2
    following = [link["url"] for link in page["link"] if link["relation"] == "next"]
    assert following and following[0].startswith("http") and "$everything" in following[0]
    path = following[0][following[0].index("/fhir/") :]
    assert world.client.get(path, headers=world.as_("gp")).status_code == 200


def test_a_stored_summary_keeps_the_signed_bundle(world: World) -> None:
    fill(world)
    url = f"/fhir/Patient/{CITIZEN}/$summary-store"
    stored = world.client.post(url, headers=world.as_("gp"))
    assert stored.status_code == 201, stored.text
    location = stored.headers["Content-Location"]
    found = world.client.get(location[location.index("/fhir/") :], headers=world.as_("gp"))
    assert found.status_code == 200, found.text
    bundle = archive.stored_bundle(found.json())
    assert bundle == stored.json()
    assert signing.verify(bundle, signing.jwks())
    refused = world.client.post(url, headers=world.as_("citizen"))
    assert refused.status_code in (403, 404), refused.text


def test_the_ips_example_bundles_pass_validate(world: World) -> None:
    folder = shared_data_dir() / "ips"
    examples = sorted(folder.glob("Bundle-*.json"))
    assert examples
    for path in examples:
        assert _validate(world, json.loads(path.read_text())) == [], path.name


ALERTS = "104605-1"


def test_an_active_procedural_change_is_the_alerts_section_with_its_author(world: World) -> None:
    fill(world)  # the GP registered "Ikke aktuelt med HLR" as a procedural change (kj-flag)
    for language, title in (("nb", "Varsler"), ("en", "Alerts")):
        bundle = _summary(world, "gp", language=language).json()
        composition = bundle["entry"][0]["resource"]
        first = composition["section"][0]  # alerts come first, before the required ones
        assert first["code"]["coding"][0] == {
            "system": "http://loinc.org", "code": ALERTS, "display": "Alert"
        }  # fmt: skip
        assert first["title"] == title
        assert "Ikke aktuelt med HLR" in first["text"]["div"]
        [entry] = first["entry"]
        flag = _resolved(bundle, entry["reference"])
        assert flag["resourceType"] == "Flag" and flag["code"]["text"] == "Ikke aktuelt med HLR"
        author = _resolved(bundle, flag["author"]["reference"])  # followed into the Bundle
        assert author["resourceType"] == "Practitioner" and author["id"] == GP_PRACTITIONER
        assert _validate(world, bundle) == []


def test_inactive_and_entered_in_error_flags_are_not_alerts(world: World) -> None:
    inactive = procedural_change(CITIZEN)
    inactive["status"] = "inactive"
    ended = procedural_change(CITIZEN)
    ended["period"] = {"start": "2020-01-01", "end": "2021-01-01"}
    for flag in (inactive, ended):
        assert world.create("gp", flag).status_code == 201
    mistaken = world.create("gp", procedural_change(CITIZEN))
    assert mistaken.status_code == 201, mistaken.text
    withdrawn = mistaken.json()
    entered_in_error(withdrawn)
    assert world.update("gp", withdrawn).status_code == 200
    for persona in ("gp", "citizen"):
        bundle = _summary(world, persona).json()
        assert ALERTS not in _sections(bundle), persona  # optional: left out when empty
        assert "Flag" not in {e["resource"]["resourceType"] for e in bundle["entry"]}


def test_the_citizen_sees_the_alert_in_their_own_summary(world: World) -> None:
    fill(world)
    bundle = _summary(world, "citizen", language="en").json()
    alerts = _sections(bundle)[ALERTS]
    assert "Ikke aktuelt med HLR" in alerts["text"]["div"]
    flag = _resolved(bundle, alerts["entry"][0]["reference"])
    assert flag["resourceType"] == "Flag" and flag["status"] == "active"
    for reference in _references([e["resource"] for e in bundle["entry"]]):
        if not reference.startswith("#"):
            _resolved(bundle, reference)  # what the citizen may not follow is a display
    assert _validate(world, bundle) == []


def test_a_flag_is_in_force_until_its_period_has_ended() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    flag = {"resourceType": "Flag", "status": "active"}
    assert is_active_flag(flag, now)
    assert is_active_flag({**flag, "period": {"start": "2025-01-01"}}, now)
    assert is_active_flag({**flag, "period": {"end": "2026-03-01"}}, now)  # the whole day
    assert not is_active_flag({**flag, "period": {"end": "2026-02-28"}}, now)
    assert not is_active_flag({**flag, "status": "inactive"}, now)


def _condition(status: str, text: str) -> dict[str, Any]:
    clinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": clinical, "code": status}]},
        "code": {"text": text},
        "subject": {"reference": f"Patient/{CITIZEN}"},
    }


def test_problems_that_recur_or_relapse_are_problems_resolved_ones_not(world: World) -> None:
    # R4 condition-clinical: recurrence and relapse are specialisations of active
    for status, text in (("recurrence", "Gikt"), ("relapse", "Depresjon"), ("resolved", "Otitt")):
        answer = world.client.post(
            "/fhir/Condition", json=_condition(status, text), headers=world.as_("gp")
        )
        assert answer.status_code == 201, answer.text
    bundle = _summary(world, "gp", language="en").json()
    problems = _sections(bundle)["11450-4"]
    shown = {_resolved(bundle, e["reference"])["code"].get("text") for e in problems["entry"]}
    assert shown == {"Gikt", "Depresjon"}
    assert "Otitt" not in problems["text"]["div"]


def test_sections_withheld_from_the_reader_are_named_in_the_document(world: World) -> None:
    # IPS 1.1.0 forbids section.emptyReason: an optional section the reader may not see is
    # left out, and the Composition's narrative (shown in the HTML/PDF) says which ones.
    fill(world, every_kind=True)
    bundle = _summary(world, "pharmacist", language="en").json()
    note = bundle["entry"][0]["resource"]["text"]["div"]
    assert "Sections withheld from you are left out:" in note
    for title in ("History of procedures", "Results", "Alerts"):
        assert title in note
    assert (
        "withheld"
        not in _summary(world, "gp", language="en").json()["entry"][0]["resource"]["text"]["div"]
    )
    page = world.client.get(
        f"/fhir/Patient/{CITIZEN}/$summary",
        params={"language": "nb", "_format": "html"},
        headers=world.as_("pharmacist"),
    )
    assert page.status_code == 200 and "Deler du ikke har tilgang til, er utelatt:" in page.text
