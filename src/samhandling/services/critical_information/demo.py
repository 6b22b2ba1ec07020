"""Critical information for the demo population: a few percent of the citizens.

Nationally about 100,000 people have critical information registered, roughly a third of
those who should. The demo gives it to about 2% of the citizens under 60 and 8% of those
over (drug reactions most often, then implants, treatments, conditions and changed
routines), registered by the citizen's own GP. Deterministic per seed and person.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from samhandling.demo.people import Person
from samhandling.demo.register_model import Register
from samhandling.profiles import PROFILE_BASE
from samhandling.services.critical_information import stamps
from samhandling.services.critical_information.stamps import Actor

ATC = "http://www.whocc.no/atc"
SCT = "http://snomed.info/sct"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
Entry = dict[str, Any]


def volven(number: int, code: str, text: str | None = None) -> Entry:
    concept: Entry = {"coding": [{"system": f"urn:oid:2.16.578.1.12.4.1.1.{number}", "code": code}]}
    if text:
        concept["text"] = text
    return concept


def _allergy(category: str, substance: Entry, reaction: str, verification: str) -> Entry:
    return {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": ALLERGY_VERIFICATION, "code": verification}]},
        "type": "allergy",
        "category": [category],
        "criticality": "high",
        "code": substance,
        "reaction": [{"manifestation": [volven(7497, reaction)]}],
    }


def _drug(code: str, text: str, reaction: str, verification: str = "confirmed") -> Entry:
    substance = {"coding": [{"system": ATC, "code": code}], "text": text}
    return _allergy("medication", substance, reaction, verification)


def _condition(code: str, text: str, reason: str) -> Entry:
    return {
        "resourceType": "Condition",
        "extension": [
            {
                "url": PROFILE_BASE + "kj-critical-reason",
                "valueCodeableConcept": volven(7513, reason),
            }
        ],
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [volven(7651, "5")],
        "code": {"coding": [{"system": SCT, "code": code}], "text": text},
    }


def _treatment(code: str) -> Entry:
    return {
        "resourceType": "Procedure",
        "status": "in-progress",
        "category": volven(7651, "6"),
        "code": volven(7517, code),
    }


def _implant(code: str) -> Entry:
    return {
        "resourceType": "DeviceUseStatement",
        "contained": [{"resourceType": "Device", "id": "implant", "type": volven(7518, code)}],
        "status": "active",
        "device": {"reference": "#implant"},
    }


def _flag(category: str, code: str, text: str) -> Entry:
    return {
        "resourceType": "Flag",
        "status": "active",
        "category": [volven(7651, category)],
        "code": volven(7522, code, text),
    }


# (weight, template): drug reactions dominate, as in the national record.
TEMPLATES: tuple[tuple[int, Callable[[], Entry]], ...] = (
    (30, lambda: _drug("J01CE02", "Fenoksymetylpenicillin", "11")),
    (12, lambda: _drug("J01CA04", "Amoksicillin", "9")),
    (8, lambda: _drug("M01AE01", "Ibuprofen", "5", "unconfirmed")),
    (5, lambda: _drug("N02AA01", "Morfin", "2")),
    (6, lambda: _allergy("food", volven(7514, "10", "Peanøtt"), "1", "confirmed")),
    (4, lambda: _allergy("environment", volven(7514, "13", "Insektgift"), "1", "confirmed")),
    (6, lambda: _implant("9")),
    (3, lambda: _implant("11")),
    (6, lambda: _treatment("4")),
    (2, lambda: _treatment("5")),
    (4, lambda: _condition("84757009", "Epilepsi", "1")),
    (2, lambda: _flag("9", "1", "Reservert mot blodtransfusjon")),
    (2, lambda: _flag("8", "4", "Ikke aktuelt med hjerte-lunge-redning")),
)
PROFILES = {
    "AllergyIntolerance": "kj-allergy-intolerance",
    "Condition": "kj-condition-critical",
    "Procedure": "kj-procedure",
    "DeviceUseStatement": "kj-device-use-statement",
    "Flag": "kj-flag",
}
PATIENT_ELEMENT = {"AllergyIntolerance": "patient"}


def critical_information(
    person: Person, register: Register, seed: int, anchor: dt.date
) -> list[Entry]:
    """The person's critical information entries (usually none)."""
    rng = random.Random(f"samhandling-demo-kj:{seed}:{person.id}")
    share = 0.08 if (anchor - person.birth).days > 60 * 365 else 0.02
    if person.id.startswith("persona-") or rng.random() >= share:
        return []
    actor = _gp_of(person, register)
    count = rng.choice((1, 1, 1, 2, 3))
    chosen = rng.choices([t for _, t in TEMPLATES], weights=[w for w, _ in TEMPLATES], k=count)
    entries = []
    for number, template in enumerate(dict.fromkeys(chosen)):
        when = dt.datetime.combine(anchor, dt.time(9), dt.UTC) - dt.timedelta(
            days=rng.randrange(30, 3000)
        )
        entries.append(_complete(template(), person, number, actor, when.isoformat()))
    return entries


def _complete(entry: Entry, person: Person, number: int, actor: Actor, at: str) -> Entry:
    rtype = entry["resourceType"]
    entry["id"] = f"kj-{person.id}-{number}"
    entry["meta"] = {"profile": [PROFILE_BASE + PROFILES[rtype]]}
    entry[PATIENT_ELEMENT.get(rtype, "subject")] = {"reference": f"Patient/{person.id}"}
    source = {"url": stamps.INFORMATION_SOURCE, "valueCodeableConcept": volven(7498, "2")}
    entry["extension"] = [
        *entry.get("extension", []),
        source,
        stamps.stamp(stamps.REGISTERED, actor, at),
        stamps.stamp(stamps.LAST_UPDATED, actor, at),
    ]
    return entry


def _gp_of(person: Person, register: Register) -> Actor:
    role = person.home.gp_role
    gp = next((c for c in register.clinicians if c.role_id == role), register.clinicians[0])
    org = register.org(gp.org_id)
    name = f"{gp.given} {gp.family}"
    return Actor(gp.hpr, name, gp.authorization, org.orgnr, org.name, "Fastlegens EPJ (demo)")
