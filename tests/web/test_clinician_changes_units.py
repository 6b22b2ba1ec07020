"""The clinician's edits in isolation: an entry's form filled from its content and the
entry made of the form (src/samhandling/web/critical_editing.py), the medicine the add
form makes and the pause call (src/samhandling/web/medication_changes.py), the pause in
words (src/samhandling/web/medication_list.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fixtures.critical_information import critical_condition, drug_reaction, food_allergy
from samhandling.services.medication_list.kinds import entry_issues, entry_uuid
from samhandling.services.medication_list.listing import PAUSED
from samhandling.web.critical_editing import choices_for, edited_entry, form_values
from samhandling.web.critical_registration import critical_entry
from samhandling.web.drug_reaction import VALID_UNTIL
from samhandling.web.medication_changes import new_statement, pause_call
from samhandling.web.medication_list import list_state
from samhandling.web.security import FormRefused
from samhandling.web.texts import TEXTS

PATIENT = "p1"


def stored(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as the service answers it: an id, a version, server stamps, a narrative."""
    entry = copy.deepcopy(entry)
    entry["id"], entry["meta"]["versionId"] = "e1", "3"
    entry["text"] = {"status": "generated", "div": "<div>old</div>"}
    stamp = {"url": "https://samhandling.no/fhir/StructureDefinition/kj-registered"}
    entry["extension"] = [*entry.get("extension", []), stamp]
    return entry


def test_the_drug_reaction_form_is_filled_with_the_entrys_content() -> None:
    entry = stored(drug_reaction(PATIENT, reaction="9"))
    entry["note"] = [{"text": "Utslett 2019"}]
    values = form_values(entry)
    assert (values["substance"], values["reaction"], values["criticality"]) == (
        "J01CE02",
        "9",
        "high",
    )
    assert values["note"] == "Utslett 2019" and values["valid_until"] == ""


def test_an_edit_replaces_what_the_form_owns_and_keeps_the_rest_exactly() -> None:
    entry = stored(drug_reaction(PATIENT, reaction="9"))
    entry["code"]["coding"][0]["display"] = "an EPJ's own display"  # kept: same code
    entry["reaction"][0]["severity"] = "severe"
    form = {"substance": "J01CE02", "reaction": "1", "criticality": "low", "note": "Ny"}
    form["valid_until"] = "2030-01-31"
    edited = edited_entry(entry, form, PATIENT)
    assert edited["code"] == entry["code"]  # the service compares identity whole
    assert edited["category"] == entry["category"]
    assert edited["reaction"][0]["manifestation"][0]["coding"][0]["code"] == "1"
    assert edited["reaction"][0]["severity"] == "severe"  # not the form's: kept
    assert edited["criticality"] == "low" and edited["note"] == [{"text": "Ny"}]
    assert {"url": VALID_UNTIL, "valueDateTime": "2030-01-31"} in edited["extension"]
    urls = [e["url"] for e in edited["extension"]]
    assert urls.count(VALID_UNTIL) == 1 and any(u.endswith("kj-registered") for u in urls)
    assert "text" not in edited  # the old narrative is dropped with the old content
    assert (edited["id"], edited["meta"]["versionId"]) == ("e1", "3")


def test_an_unchanged_form_changes_nothing_and_a_changed_substance_is_sent_as_such() -> None:
    entry = stored(drug_reaction(PATIENT))
    assert edited_entry(entry, form_values(entry), PATIENT) == entry
    changed = edited_entry(entry, {**form_values(entry), "substance": "N02AA01"}, PATIENT)
    assert changed["code"]["coding"][0]["code"] == "N02AA01"  # the service refuses it (422)


def test_an_entry_coded_outside_the_forms_lists_is_offered_as_it_is() -> None:
    entry = stored(food_allergy(PATIENT))  # Volven 7514 peanut: not an ATC substance
    choices = choices_for(entry)
    assert choices["substances"]["10"] == "Peanøtt"
    edited = edited_entry(entry, {**form_values(entry), "note": "Alvorlig"}, PATIENT)
    assert edited["code"] == entry["code"] and edited["category"] == ["food"]
    with pytest.raises(FormRefused):
        edited_entry(entry, {**form_values(entry), "substance": "999"}, PATIENT)


def test_the_table_driven_form_edits_a_condition_and_a_flag() -> None:
    condition = stored(critical_condition(PATIENT))
    values = form_values(condition)
    assert values["code"] == "84757009"
    edited = edited_entry(condition, {**values, "reason": "5", "note": "Narkose"}, PATIENT)
    reasons = [e for e in edited["extension"] if e["url"].endswith("kj-critical-reason")]
    assert [r["valueCodeableConcept"]["coding"][0]["code"] for r in reasons] == ["5"]
    assert edited["code"] == condition["code"] and edited["note"] == [{"text": "Narkose"}]
    flag = critical_entry("procedural-change", PATIENT, {"code": "1", "category": "8"})
    flag = stored({**flag, "meta": {"profile": flag["meta"]["profile"]}})
    assert form_values(flag)["category"] == "8"
    moved = edited_entry(flag, {**form_values(flag), "category": "9"}, PATIENT)
    assert moved["category"][0]["coding"][0]["code"] == "9"


def test_a_valid_until_must_be_a_date() -> None:
    entry = stored(drug_reaction(PATIENT))
    for bad in ("31.01.2030", "2030-02-30", "2030-1-1"):
        with pytest.raises(FormRefused):
            edited_entry(entry, {**form_values(entry), "valid_until": bad}, PATIENT)


def test_the_add_form_makes_a_list_entry_the_service_accepts() -> None:
    form = {"medicine": "C09AA05", "dose": "1 tablett daglig", "route": "20053000"}
    form |= {"indication": "Høyt blodtrykk", "start": "2026-12-01"}
    statement = new_statement(PATIENT, form)
    assert entry_issues(statement, PATIENT, "entry") == []
    assert entry_uuid(statement) is not None
    assert statement["medicationCodeableConcept"]["text"] == "Ramipril 5 mg"
    assert statement["dosage"][0]["route"]["coding"][0]["code"] == "20053000"
    assert statement["reasonCode"] == [{"text": "Høyt blodtrykk"}]
    assert statement["effectivePeriod"] == {"start": "2026-12-01"}
    assert entry_uuid(new_statement(PATIENT, form)) != entry_uuid(statement)  # new each time
    otc = new_statement(PATIENT, {"medicine": "N02BE01", "dose": "ved behov"})
    assert otc["category"]["coding"][0]["code"] == "otc"


def test_any_atc_code_of_the_right_form_is_taken_and_the_service_judges_it() -> None:
    vaccine = {"medicine": "other", "atc": "j07bx03", "name": "Covid-vaksine", "dose": "1 dose"}
    statement = new_statement(PATIENT, vaccine)
    assert statement["medicationCodeableConcept"]["coding"][0]["code"] == "J07BX03"
    assert entry_issues(statement, PATIENT, "entry")  # the service's 422
    for bad in (
        {"medicine": "other", "atc": "C10AA", "name": "x", "dose": "1"},
        {"medicine": "other", "atc": "C10AA01", "name": "", "dose": "1"},
        {"medicine": "X99ZZ99", "dose": "1"},
        {"medicine": "C10AA01", "dose": ""},
        {"medicine": "C10AA01", "dose": "1", "route": "oral"},
        {"medicine": "C10AA01", "dose": "1", "start": "01.12.2026"},
    ):
        with pytest.raises(FormRefused):
            new_statement(PATIENT, bad)


def test_a_pause_needs_a_reason_and_its_end_is_a_date() -> None:
    call = pause_call(PATIENT, {"reason": "Innlagt", "until": "2026-12-24"})
    assert call.name == "medication-list-pause" and call.body is not None
    assert call.body["parameter"][1] == {"name": "expectedEnd", "valueDate": "2026-12-24"}
    for bad in ({"reason": " "}, {"reason": "x", "until": "jul"}):
        with pytest.raises(FormRefused):
            pause_call(PATIENT, bad)


def test_the_pause_is_shown_with_who_since_why_and_until() -> None:
    parts = [
        {"url": "time", "valueDateTime": "2026-12-01T09:00:00+00:00"},
        {"url": "practitionerName", "valueString": "Henrik Sykehuslege"},
        {"url": "reason", "valueString": "Innlagt"},
        {"url": "expectedEnd", "valueString": "2026-12-24"},
        {"url": "organizationName", "valueString": "Helse Fjordbyen HF"},
    ]
    listing = {"resourceType": "List", "meta": {"versionId": "4"}}
    listing["extension"] = [{"url": PAUSED, "extension": parts}]
    state = list_state({"entry": [{"resource": listing}]})
    assert state["version"] == "4"
    assert state["paused"] == {
        "by": "Helse Fjordbyen HF (Henrik Sykehuslege)",
        "since": "2026-12-01 10:00",
        "reason": "Innlagt",
        "until": "2026-12-24",
    }
    assert list_state({"entry": []})["paused"] is None


def test_the_new_words_are_in_both_languages() -> None:
    for key in ("edit_entry", "add_medicine", "list_paused", "pause_list", "resume_list"):
        bokmal, english = TEXTS[key]
        assert bokmal and english and bokmal != english
