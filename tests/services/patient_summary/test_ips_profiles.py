"""The IPS 1.1.0 profiles are shipped and checked: the official examples pass `$validate`
against the profile the IG names for each, a generated summary with every kind of data
passes, and a broken element is named with its location."""

from __future__ import annotations

import copy
import json
from typing import Any

from fixtures.critical_information import World
from fixtures.fhir_app import FHIR_JSON
from fixtures.patient_summary import fill
from fixtures.shared_data import shared_data_dir
from samhandling.profiles import shipped_profile

IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"
BUNDLE = IPS + "Bundle-uv-ips"
SHIPPED = (
    "Bundle", "Composition", "Patient", "AllergyIntolerance", "Condition", "MedicationStatement",
    "Medication", "Observation-results", "Immunization", "Device", "DeviceUseStatement",
    "Organization", "Practitioner", "Procedure", "DiagnosticReport",
)  # fmt: skip


def _errors(world: World, resource: dict[str, Any], profile: str | None = None) -> list[Any]:
    parameters: list[dict[str, Any]] = [{"name": "resource", "resource": resource}]
    if profile:
        parameters.append({"name": "profile", "valueUri": profile})
    answer = world.client.post(
        f"/fhir/{resource['resourceType']}/$validate",
        json={"resourceType": "Parameters", "parameter": parameters},
        headers={**FHIR_JSON, **world.as_("gp")},
    )
    assert answer.status_code == 200, answer.text
    return [i for i in answer.json().get("issue", []) if i["severity"] in ("error", "fatal")]


def _example_profiles() -> dict[str, str]:
    """`Type/id` of each IPS example → the profile the IG says it exemplifies."""
    guide = shared_data_dir() / "ips" / "profiles" / "ImplementationGuide-hl7.fhir.uv.ips.json"
    resources = json.loads(guide.read_text())["definition"]["resource"]
    return {r["reference"]["reference"]: r["exampleCanonical"] for r in resources
            if r.get("exampleCanonical")}  # fmt: skip


def test_the_summary_profiles_are_shipped() -> None:
    for name in SHIPPED:
        profile = shipped_profile(f"{IPS}{name}-uv-ips")
        assert profile is not None and profile.rules, name


def test_every_ips_example_passes_against_its_profile(world: World) -> None:
    folder = shared_data_dir() / "ips"
    exemplified = _example_profiles()
    checked_against_ips = 0
    for path in sorted([*folder.glob("Bundle-*.json"), *(folder / "examples").glob("*.json")]):
        example = json.loads(path.read_text())
        profile = exemplified.get(f"{example['resourceType']}/{example['id']}")
        if profile is not None and shipped_profile(profile) is None:
            profile = None  # e.g. Device-observer-uv-ips: the base specification only
        checked_against_ips += profile is not None
        assert _errors(world, example, profile) == [], path.name
    assert checked_against_ips >= 20  # 24 of the 40: the rest exemplify unshipped ones


def test_a_generated_summary_with_every_kind_of_data_passes(world: World) -> None:
    fill(world, every_kind=True)
    bundle = _summary(world)
    sections = {s["code"]["coding"][0]["code"] for s in bundle["entry"][0]["resource"]["section"]}
    assert sections == {"48765-2", "10160-0", "11450-4", "47519-4", "11369-6", "46264-8",
                        "30954-2", "104605-1"}  # fmt: skip
    # Alerts (IPS 2.0) is no slice of IPS 1.1.0's open section slicing: allowed, and its
    # Flag no slice of the Bundle's open entry slicing; both pass below.
    claimed = {p for e in bundle["entry"] for p in e["resource"].get("meta", {}).get("profile", [])}
    assert {IPS + "Patient-uv-ips", IPS + "Observation-results-uv-ips"} <= claimed
    assert _errors(world, bundle) == []  # the Bundle claims Bundle-uv-ips itself
    assert _errors(world, bundle, BUNDLE) == []


def test_a_broken_element_is_named_with_its_location(world: World) -> None:
    fill(world)
    bundle = _summary(world)
    no_birth_date = copy.deepcopy(bundle)
    patient_at = next(i for i, e in enumerate(bundle["entry"])
                      if e["resource"]["resourceType"] == "Patient")  # fmt: skip
    del no_birth_date["entry"][patient_at]["resource"]["birthDate"]
    [issue] = _errors(world, no_birth_date)
    assert issue["expression"] == [f"Bundle.entry[{patient_at}].resource.ofType(Patient).birthDate"]
    assert "Patient" in issue["diagnostics"] and "birthDate" in issue["diagnostics"]

    no_allergies = copy.deepcopy(bundle)
    composition = no_allergies["entry"][0]["resource"]
    composition["section"] = [s for s in composition["section"]
                              if s["code"]["coding"][0]["code"] != "48765-2"]  # fmt: skip
    [issue] = _errors(world, no_allergies)
    assert issue["expression"] == [
        "Bundle.entry[0].resource.ofType(Composition).section:sectionAllergies"
    ]
    assert issue["code"] == "required"


def test_a_profile_the_server_does_not_ship_is_refused(world: World) -> None:
    answer = world.client.post(
        "/fhir/Patient/$validate",
        json={"resourceType": "Parameters", "parameter": [
            {"name": "resource", "resource": {"resourceType": "Patient"}},
            {"name": "profile", "valueUri": IPS + "Patient-nonexistent-uv-ips"},
        ]},
        headers={**FHIR_JSON, **world.as_("gp")},
    )  # fmt: skip
    assert answer.status_code == 400 and answer.json()["issue"][0]["code"] == "not-supported"


def _summary(world: World) -> dict[str, Any]:
    answer = world.client.get("/fhir/Patient/persona-citizen/$summary", headers=world.as_("gp"))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_summary_with_withheld_sections_conforms_to_ips(world: World) -> None:
    # The pharmacist may not search Conditions, Procedures, results …: the problem list
    # (required) is IPS's "no information" entry with a narrative saying it is withheld;
    # the optional sections are left out. No emptyReason: IPS 1.1.0 forbids it.
    fill(world, every_kind=True)
    answer = world.client.get(
        "/fhir/Patient/persona-citizen/$summary", params={"language": "en"},
        headers=world.as_("pharmacist"),
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    sections = {
        s["code"]["coding"][0]["code"]: s for s in bundle["entry"][0]["resource"]["section"]
    }
    assert set(sections) == {"48765-2", "10160-0", "11450-4"}
    problems = sections["11450-4"]
    assert "emptyReason" not in problems and "withheld from you" in problems["text"]["div"]
    [entry] = problems["entry"]
    condition = next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == entry["reference"])
    assert condition["code"]["coding"][0]["code"] == "no-problem-info"
    assert _errors(world, bundle) == []
    assert _errors(world, bundle, BUNDLE) == []


def test_a_generated_summary_meets_the_invariants_and_names_a_broken_one(world: World) -> None:
    fill(world, every_kind=True)
    bundle = _summary(world)
    answer = world.client.post(
        "/fhir/Bundle/$validate", json=bundle, headers={**FHIR_JSON, **world.as_("gp")}
    )
    issues = answer.json().get("issue", [])
    kinds = ("invariant", "not-supported")
    found = {(i["severity"], i["diagnostics"].split(":")[0]) for i in issues if i["code"] in kinds}
    # Only dom-6 warnings: the stored entries have no narrative of their own (a should).
    assert found == {("warning", "dom-6")}
    patient_at = next(i for i, e in enumerate(bundle["entry"])
                      if e["resource"]["resourceType"] == "Patient")  # fmt: skip
    bundle["entry"][patient_at]["resource"]["name"] = [{"use": "official"}]
    [issue] = _errors(world, bundle)
    assert issue["code"] == "invariant" and issue["diagnostics"].startswith("ips-pat-1:")
    assert issue["expression"] == [f"Bundle.entry[{patient_at}].resource.ofType(Patient).name[0]"]
