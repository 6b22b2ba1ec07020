"""The clinician changes what is there, in a real browser against a real server process
(PostgreSQL): edits a critical-information entry in its registration form (a stale form
refused, the service's validation shown on the form), adds a medicine to the medication
list through the guard (a conflict, a vaccine refused), and pauses and resumes the list
(another organisation's writes refused with the pause's reason). Everything read back
through the API."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from fixtures.browser import Browser
from fixtures.critical_information import CITIZEN, critical_condition
from fixtures.server_process import ServerProcess
from fixtures.web_world import (
    CITIZEN_FNR,
    MEDICINE,
    World,
    another_prescriber_adds,
    load_world,
    reaction_to,
)

PATIENT_PAGE = f"/clinician/patient/{CITIZEN}"
LIST = f"/Patient/{CITIZEN}/$medication-list"


@pytest.fixture(scope="module")
def world(web_server: ServerProcess) -> Iterator[World]:
    with httpx.Client(base_url=web_server.base_url, timeout=30) as client:
        yield load_world(web_server, client)


def find(who: Browser, purpose: str = "TREAT", search: str = "Søk") -> None:
    who.page.goto("/clinician")
    who.page.locator(f"#purpose-{purpose}").check()
    who.page.fill("#national_id", CITIZEN_FNR)
    who.follow(who.page.get_by_role("button", name=search))


def api(world: World, path: str, persona: str = "gp") -> Any:
    answer = world.client.get(path, headers=world.server.headers(persona))
    assert answer.status_code == 200, answer.text
    return answer.json()


def the_list(world: World) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The List and its statements, as the API gives them to the GP."""
    resources = [e["resource"] for e in api(world, LIST)["entry"]]
    listing = next(r for r in resources if r["resourceType"] == "List")
    return listing, [r for r in resources if r["resourceType"] == "MedicationStatement"]


def named(statements: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [s for s in statements if s["medicationCodeableConcept"].get("text") == name]


def test_the_gp_edits_a_drug_reaction_a_stale_form_and_a_changed_substance_are_refused(
    world: World, browser: Callable[..., Browser]
) -> None:
    morphine = world.post("gp", "/AllergyIntolerance", reaction_to(CITIZEN, "N02AA01", "Morfin"))
    path = f"/AllergyIntolerance/{morphine['id']}"
    gp = browser()
    gp.log_in("gp")
    find(gp)
    entry = gp.page.locator("li.critical-entry", has_text="Morfin")
    gp.follow(entry.get_by_role("link", name=re.compile("Endre")))
    assert gp.page.inner_text("h1") == "Endre: Morfin"
    gp.check("clinician-edit-drug-reaction")
    assert gp.page.locator("#substance").input_value() == "N02AA01"  # filled as it is
    assert gp.page.locator("#reaction").input_value() == "9"
    assert gp.page.locator("#criticality-high").is_checked()

    gp.page.select_option("#reaction", "1")
    gp.page.locator("#criticality-low").check()
    gp.page.fill("#note", "Anafylaksi etter morfin 2024")
    confirmed = world.client.post(  # another clinician confirms it meanwhile: a new version
        f"{path}/$confirm", headers=world.server.headers("hospital-physician")
    )
    assert confirmed.status_code == 200, confirmed.text
    gp.follow(gp.page.get_by_role("button", name="Lagre"))
    conflict = gp.page.locator("#entry-conflict[role=alert]")
    assert "endret av andre siden du så den" in conflict.inner_text()
    assert "the current version is 2" in conflict.inner_text()  # the service's words
    gp.check("clinician-edit-conflict")
    assert gp.page.locator("#reaction").input_value() == "9"  # the entry as it is now
    stored = api(world, path)
    assert stored["meta"]["versionId"] == "2" and stored["criticality"] == "high"  # untouched

    gp.page.select_option("#reaction", "1")
    gp.page.locator("#criticality-low").check()
    gp.page.fill("#note", "Anafylaksi etter morfin 2024")
    gp.page.fill("#valid_until", "2030-06-30")
    gp.follow(gp.page.get_by_role("button", name="Lagre"))
    assert gp.page.locator("[role=status]").inner_text() == "Opplysningen er endret."
    assert "Anafylaktisk reaksjon" in entry.inner_text()
    stored = api(world, path)
    assert stored["meta"]["versionId"] == "3" and stored["criticality"] == "low"
    assert stored["reaction"][0]["manifestation"][0]["coding"][0]["code"] == "1"
    assert stored["note"] == [{"text": "Anafylaksi etter morfin 2024"}]
    assert stored["code"] == morphine["code"]
    extensions = {e["url"].rsplit("/", 1)[-1]: e for e in stored["extension"]}
    assert extensions["kj-valid-until"]["valueDateTime"] == "2030-06-30"
    assert "Gro Fastlege" in str(extensions["kj-last-updated"])  # the service's stamp
    assert "Henrik Sykehuslege" in str(extensions["kj-last-confirmed"])  # kept

    gp.follow(entry.get_by_role("link", name=re.compile("Endre")))
    assert gp.page.locator("#note").input_value() == "Anafylaksi etter morfin 2024"
    gp.page.select_option(
        "#substance", "N02BE01"
    )  # another substance: a new entry, says the service
    gp.page.fill("#note", "Feil stoff?")
    gp.follow(gp.page.get_by_role("button", name="Lagre"))
    issues = gp.page.locator("#entry-issues[role=alert]")
    assert "code cannot change on update" in issues.inner_text()
    gp.check("clinician-edit-refused")
    assert gp.page.locator("#substance").input_value() == "N02BE01"  # what she entered
    assert gp.page.locator("#note").input_value() == "Feil stoff?"
    assert api(world, path)["meta"]["versionId"] == "3"  # nothing written

    log = api(world, f"/Patient/{CITIZEN}/$access-log?_count=200", "citizen")
    actions = [p for p in log["parameter"] if p["name"] == "access"]
    assert any("endret" in str(a) and "Fjordbyen legesenter" in str(a) for a in actions)


def test_the_gp_edits_a_critical_condition_in_the_table_driven_form(
    world: World, browser: Callable[..., Browser]
) -> None:
    condition = world.post("gp", "/Condition", critical_condition(CITIZEN))
    gp = browser("en-GB")
    gp.log_in("gp")
    find(gp, search="Search")
    entry = gp.page.locator("li.critical-entry", has_text="Epilepsi")
    gp.follow(entry.get_by_role("link", name=re.compile("Edit")))
    assert gp.page.locator("#code").input_value() == "84757009"
    gp.check("clinician-edit-condition-en")
    gp.page.select_option("#reason", "5")
    gp.page.fill("#note", "Risiko ved narkose")
    gp.follow(gp.page.get_by_role("button", name="Save"))
    assert gp.page.locator("[role=status]").inner_text() == "The entry is changed."
    stored = api(world, f"/Condition/{condition['id']}")
    reasons = [e for e in stored["extension"] if e["url"].endswith("kj-critical-reason")]
    assert [r["valueCodeableConcept"]["coding"][0]["code"] for r in reasons] == ["5"]
    assert stored["code"] == condition["code"] and stored["category"] == condition["category"]
    assert stored["note"] == [{"text": "Risiko ved narkose"}]

    nurse = browser()
    nurse.log_in("home-care-nurse")
    find(nurse, "COC")
    entry = nurse.page.locator("li.critical-entry", has_text="Epilepsi")
    nurse.follow(entry.get_by_role("link", name=re.compile("Endre")))
    nurse.page.fill("#note", "Sykepleier")
    nurse.follow(nurse.page.get_by_role("button", name="Lagre"))
    assert "Ingen tilgang" in nurse.page.inner_text("h1")  # the service's writer rule
    assert api(world, f"/Condition/{condition['id']}")["note"] == stored["note"]


def _fill_ramipril(gp: Browser) -> None:
    gp.page.select_option("#medicine", "C09AA05")
    gp.page.fill("#dose", "1 tablett om morgenen")
    gp.page.select_option("#route", "20053000")
    gp.page.fill("#indication", "Høyt blodtrykk")
    gp.page.fill("#start", "2026-12-01")


def test_the_gp_adds_a_medicine_through_the_guard_a_conflict_and_a_vaccine_are_shown(
    world: World, browser: Callable[..., Browser]
) -> None:
    gp = browser()
    gp.log_in("gp")
    find(gp)
    medications = gp.page.locator("section[aria-labelledby=medications-heading]")
    gp.follow(medications.get_by_role("link", name="Legg til legemiddel"))
    gp.check("clinician-add-medicine")
    _fill_ramipril(gp)
    another_prescriber_adds(world, "Levotyroksin 50 mikrog")  # while the form is open
    gp.follow(gp.page.get_by_role("button", name="Lagre"))
    refused = gp.page.locator("#medicine-refused[role=alert]")
    assert "endret av andre siden du så den" in refused.inner_text()
    assert "Levotyroksin 50 mikrog" in refused.inner_text()  # the service names what changed
    gp.check("clinician-add-medicine-conflict")
    assert (
        "Levotyroksin 50 mikrog"
        in gp.page.locator("section[aria-labelledby=current-heading]").inner_text()
    )
    assert gp.page.locator("#dose").input_value() == "1 tablett om morgenen"  # kept
    assert not named(the_list(world)[1], "Ramipril 5 mg")  # nothing written

    gp.follow(gp.page.get_by_role("button", name="Lagre"))  # reviewed: saved on the new version
    assert gp.page.locator("[role=status]").inner_text() == "Legemiddelet er lagt til."
    assert "Ramipril 5 mg" in medications.inner_text()
    listing, statements = the_list(world)
    [ramipril] = named(statements, "Ramipril 5 mg")
    assert ramipril["dosage"][0]["text"] == "1 tablett om morgenen"
    assert ramipril["dosage"][0]["route"]["coding"][0]["code"] == "20053000"
    assert ramipril["reasonCode"] == [{"text": "Høyt blodtrykk"}]
    assert ramipril["effectivePeriod"] == {"start": "2026-12-01"}
    assert named(statements, "Levotyroksin 50 mikrog") and named(statements, MEDICINE)
    assert "Gro Fastlege" in str(listing["extension"])  # pll-changed: who saved it

    gp.follow(medications.get_by_role("link", name="Legg til legemiddel"))
    gp.page.select_option("#medicine", "other")
    gp.page.fill("#atc", "J07BX03")
    gp.page.fill("#name", "Covid-19-vaksine")
    gp.page.fill("#dose", "1 dose")
    version = listing["meta"]["versionId"]
    gp.follow(gp.page.get_by_role("button", name="Lagre"))
    refused = gp.page.locator("#medicine-refused[role=alert]")
    assert "ble ikke lagt til" in refused.inner_text()
    assert "is not allowed on the medication list" in refused.inner_text()  # the 422's words
    gp.check("clinician-add-vaccine-refused")
    assert gp.page.locator("#atc").input_value() == "J07BX03"
    listing, statements = the_list(world)
    assert listing["meta"]["versionId"] == version and not named(statements, "Covid-19-vaksine")


def test_the_hospital_pauses_the_list_the_gp_is_refused_and_the_hospital_resumes(
    world: World, browser: Callable[..., Browser]
) -> None:
    doctor = browser()
    doctor.log_in("hospital-physician")
    find(doctor)
    medications = doctor.page.locator("section[aria-labelledby=medications-heading]")
    token = doctor.page.locator("input[name=csrf_token]").first.get_attribute("value")
    pause = f"{PATIENT_PAGE}/medications/pause"
    for form in ({"reason": "x"}, {"csrf_token": "forged", "reason": "x"}):
        assert doctor.page.request.post(pause, form=form, max_redirects=0).status == 403
    assert (
        doctor.page.request.post(pause, form={"csrf_token": token}, max_redirects=0).status == 400
    )
    assert "pll-paused" not in str(the_list(world)[0])  # nothing written

    medications.get_by_label("Begrunnelse for pausen").fill("Innlagt på medisinsk avdeling")
    medications.get_by_label("Forventet slutt (valgfritt)").fill("2026-12-24")
    doctor.follow(medications.get_by_role("button", name="Sett legemiddellisten på pause"))
    assert doctor.page.locator("[role=status]").inner_text() == "Legemiddellisten er satt på pause."
    shown = doctor.page.locator("#list-paused").inner_text()
    for text in (
        "Helse Fjordbyen HF (Henrik Sykehuslege)",
        "Innlagt på medisinsk avdeling",
        "2026-12-24",
    ):
        assert text in shown
    doctor.check("clinician-list-paused")
    listing, _ = the_list(world)
    assert "Innlagt på medisinsk avdeling" in str(listing["extension"])
    version = listing["meta"]["versionId"]

    gp = browser("en-GB")
    gp.log_in("gp")
    find(gp, search="Search")
    shown = gp.page.locator("#list-paused").inner_text()
    assert "The medication list is paused." in shown and "Henrik Sykehuslege" in shown
    gp.check("clinician-list-paused-seen-by-gp-en")
    statin = gp.page.locator("tr.medication", has_text=MEDICINE)
    statin.get_by_label("Reason for stopping").fill("Muskelsmerter")
    gp.follow(statin.get_by_role("button", name=re.compile("Stop")))
    refused = gp.page.locator("#list-refused[role=alert]")
    assert "paused by Helse Fjordbyen HF" in refused.inner_text()
    assert "Innlagt på medisinsk avdeling" in refused.inner_text()
    gp.check("clinician-list-paused-stop-refused-en")
    gp.follow(gp.page.get_by_role("button", name="Resume the list"))
    assert "paused by Helse Fjordbyen HF" in gp.page.locator("#list-refused").inner_text()
    gp.follow(gp.page.get_by_role("link", name="Add a medicine"))
    _fill_ramipril(gp)
    gp.page.select_option("#medicine", "H03AA01")
    gp.follow(gp.page.get_by_role("button", name="Save"))
    assert "paused by Helse Fjordbyen HF" in gp.page.locator("#medicine-refused").inner_text()
    listing, statements = the_list(world)
    assert listing["meta"]["versionId"] == version  # none of her writes went through
    assert named(statements, MEDICINE)[0]["status"] == "active"
    assert not named(statements, "Levotyroksin 50 mikrog")[1:]  # added once, by the hospital

    doctor.page.goto(PATIENT_PAGE)
    doctor.follow(medications.get_by_role("button", name="Avslutt pausen"))
    assert doctor.page.locator("[role=status]").inner_text() == "Pausen er avsluttet."
    assert doctor.page.locator("#list-paused").count() == 0
    assert "pll-paused" not in str(the_list(world)[0])


def test_a_forged_or_malformed_edit_or_addition_writes_nothing(
    world: World, browser: Callable[..., Browser]
) -> None:
    reaction = world.post("gp", "/AllergyIntolerance", reaction_to(CITIZEN, "M01AE01", "Ibuprofen"))
    gp = browser()
    gp.log_in("gp")
    find(gp)
    token = gp.page.locator("input[name=csrf_token]").first.get_attribute("value")
    edit = f"{PATIENT_PAGE}/critical/AllergyIntolerance/{reaction['id']}/edit"
    good = {"version": "1", "substance": "M01AE01", "reaction": "1", "criticality": "low"}
    for form, status in (
        (good, 403),  # no token
        ({**good, "csrf_token": "forged"}, 403),
        ({**good, "csrf_token": token, "version": "latest"}, 400),
        ({**good, "csrf_token": token, "reaction": "99"}, 400),  # a choice not offered
        ({**good, "csrf_token": token, "valid_until": "i morgen"}, 400),
    ):
        answer = gp.page.request.post(edit, form=form, max_redirects=0)
        assert answer.status == status and "<h1>" in answer.text()
    other = edit.replace(CITIZEN, "persona-parent")  # Cecilie's entry on another's page
    answer = gp.page.request.post(other, form={**good, "csrf_token": token}, max_redirects=0)
    assert answer.status == 404 and "<h1>" in answer.text()
    assert gp.page.request.get(other, max_redirects=0).status == 404
    assert api(world, f"/AllergyIntolerance/{reaction['id']}")["meta"]["versionId"] == "1"

    version = the_list(world)[0]["meta"]["versionId"]
    add = f"{PATIENT_PAGE}/medications/new"
    medicine = {"version": version, "medicine": "C09AA05", "dose": "1 daglig"}
    for form, status in (
        (medicine, 403),
        ({**medicine, "csrf_token": "forged"}, 403),
        ({**medicine, "csrf_token": token, "medicine": "other", "atc": "C10"}, 400),
    ):
        assert gp.page.request.post(add, form=form, max_redirects=0).status == status
    assert the_list(world)[0]["meta"]["versionId"] == version
