"""The change log in plain words: who changed which medicine, when and why, for the citizen."""

from __future__ import annotations

from typing import Any

from medlistkit import PATIENT, save, statement, with_reason

from fixtures.critical_information import World

URL = f"/fhir/Patient/{PATIENT}/$medication-list-changes"


def _changes(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    found = []
    for change in answer.json()["parameter"]:
        parts = {p["name"]: p for p in change["part"] if p["name"] != "entry"}
        entries = [
            {q["name"]: next(v for k, v in q.items() if k.startswith("value")) for q in p["part"]}
            for p in change["part"]
            if p["name"] == "entry"
        ]
        found.append({"who": parts["who"]["valueString"], "entries": entries})
    return found


def test_the_citizen_reads_who_changed_what_and_why(world: World) -> None:
    simvastatin = statement()
    assert save(world, "gp", 0, [simvastatin]).status_code == 201
    metformin = statement("A10BA02", "Metformin 500 mg")
    assert save(world, "hospital-physician", 1, [simvastatin, metformin]).status_code == 200
    stopped = with_reason(simvastatin, "Muskelsmerter", status="stopped")
    assert save(world, "gp", 2, [stopped, metformin]).status_code == 200

    log = _changes(world.client.get(URL, headers=world.as_("citizen")))
    assert [[e["change"] for e in c["entries"]] for c in log] == [
        ["withdrawn"],
        ["added"],
        ["added"],
    ]  # newest first; unchanged entries are not news
    newest = log[0]["entries"][0]
    assert newest["medicine"] == "Simvastatin 20 mg" and newest["reason"] == "Muskelsmerter"
    assert newest["text"].startswith(log[0]["who"]) and "seponerte Simvastatin" in newest["text"]
    assert " ved " in log[0]["who"] and not log[0]["who"].rstrip().endswith("991000011")
    english = _changes(world.client.get(URL + "?language=en", headers=world.as_("citizen")))
    assert "stopped Simvastatin 20 mg because: Muskelsmerter" in english[0]["entries"][0]["text"]


def test_no_list_no_changes_and_others_are_not_told(world: World) -> None:
    assert _changes(world.client.get(URL, headers=world.as_("citizen"))) == []
    other = "/fhir/Patient/persona-parent/$medication-list-changes"
    assert world.client.get(other, headers=world.as_("citizen")).status_code == 404
    bad = world.client.get(URL + "?language=de", headers=world.as_("citizen"))
    assert bad.status_code == 400
