"""Medication lists for the demo population.

About 10% of the citizens under 70 and 40% of those over have a list, written by their
GP, with one to six entries (medicines coded with ATC, OTC medicines, supplements); a
third of the lists of citizens over 75 are multidose (dispensed in multi-dose bags:
extension `pll-multidose` on the List, "Multidose" in each entry's dosage). Deterministic
per seed and person; each statement is written as its first version.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from samhandling.demo.people import Person
from samhandling.demo.register_model import Register
from samhandling.profiles import PROFILE_BASE
from samhandling.services.medication_list.kinds import ATC, ENTRY_KIND_SYSTEM, IDENTIFIER_SYSTEM
from samhandling.services.medication_list.listing import (
    CHANGED,
    ENTRY_PROFILE,
    EntryRef,
    empty_list,
    list_entry,
    list_id,
)

MULTIDOSE = PROFILE_BASE + "pll-multidose"
Entry = dict[str, Any]

# (kind, ATC code or None, name, dosage)
TEMPLATES: tuple[tuple[str, str | None, str, str], ...] = (
    ("medicine", "C10AA01", "Simvastatin 20 mg", "1 tablett om kvelden"),
    ("medicine", "C09AA05", "Ramipril 5 mg", "1 tablett om morgenen"),
    ("medicine", "A10BA02", "Metformin 500 mg", "1 tablett 2 ganger daglig"),
    ("medicine", "B01AC06", "Acetylsalisylsyre 75 mg", "1 tablett daglig"),
    ("medicine", "C07AB02", "Metoprolol 50 mg", "1 tablett daglig"),
    ("medicine", "H03AA01", "Levotyroksin 50 mikrog", "1 tablett fastende"),
    ("medicine", "N06AB06", "Sertralin 50 mg", "1 tablett daglig"),
    ("otc", "N02BE01", "Paracetamol 500 mg", "Ved behov, inntil 4 ganger daglig"),
    ("supplement", "A11CC05", "Vitamin D (kolekalsiferol)", "1 tablett daglig"),
    ("supplement", None, "Omega-3 fiskeolje", "1 kapsel daglig"),
)


def medication_lists(person: Person, register: Register, seed: int, anchor: dt.date) -> list[Entry]:
    """The person's medication list and its entries (usually none)."""
    if person.id.startswith("persona-"):  # the personas' stories start without a list
        return []
    rng = random.Random(f"samhandling-demo-pll:{seed}:{person.id}")
    age = (anchor - person.birth).days // 365
    if rng.random() >= (0.4 if age >= 70 else 0.1):
        return []
    multidose = age >= 75 and rng.random() < 1 / 3
    chosen = rng.sample(TEMPLATES, rng.randint(1, 6))
    at = (
        dt.datetime.combine(anchor, dt.time(10), dt.UTC) - dt.timedelta(days=rng.randrange(1, 400))
    ).isoformat()
    statements = [_statement(person.id, t, rng, multidose, at) for t in chosen]
    listing = empty_list(person.id)
    listing["date"] = at
    gp = "Fastlegens EPJ (demo)"
    listing["extension"] = [
        {
            "url": CHANGED,
            "extension": [
                {"url": "time", "valueDateTime": at},
                {"url": "system", "valueString": gp},
            ],
        }
    ]
    if multidose:
        listing["extension"].append({"url": MULTIDOSE, "valueBoolean": True})
    record = {"change": "added", "changed": at, "reason": "Oppstart av legemiddelliste"}
    listing["entry"] = [list_entry(EntryRef(s["id"], 1, record)) for s in statements]
    assert listing["id"] == list_id(person.id)
    return [*statements, listing]


def _statement(
    patient_id: str,
    template: tuple[str, str | None, str, str],
    rng: random.Random,
    multidose: bool,
    at: str,
) -> Entry:
    kind, atc, name, dosage = template
    entry_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    concept: Entry = {"text": name}
    if atc:
        concept["coding"] = [{"system": ATC, "code": atc}]
    return {
        "resourceType": "MedicationStatement",
        "id": entry_id,
        "meta": {"profile": [ENTRY_PROFILE]},
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": f"urn:uuid:{entry_id}"}],
        "status": "active",
        "category": {"coding": [{"system": ENTRY_KIND_SYSTEM, "code": kind}]},
        "medicationCodeableConcept": concept,
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectivePeriod": {"start": at[:10]},
        "dosage": [{"text": ("Multidose: " if multidose else "") + dosage}],
    }
