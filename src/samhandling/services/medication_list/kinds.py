"""What may stand on the medication list, as data (docs/MEDICATION_LIST.md, "Entries").

An entry is a `MedicationStatement` of one of the kinds below, named in its `category`
(code system `ENTRY_KIND_SYSTEM`; no category means a prescription medicine). Medicines
and OTC medicines are coded with ATC (and may carry the national product number);
dietary supplements may be named by text alone. Vaccines (ATC J07, or the kind
`vaccine`), foods and consumables are refused: the vaccination register and the
dispensing systems hold those. `entry_issues` gives one issue per problem.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from samhandling.fhir.outcome import Issue, error

ATC = "http://www.whocc.no/atc"
#: the national product number (varenummer) of the medicines register (FEST)
PRODUCT_NUMBER = "urn:oid:2.16.578.1.12.4.1.1.7424"
ENTRY_KIND_SYSTEM = "https://samhandling.no/fhir/CodeSystem/pll-entry-kind"
IDENTIFIER_SYSTEM = "urn:ietf:rfc:3986"
VACCINE_ATC_PREFIX = "J07"
#: statuses that take an entry off the list (after the grace period)
WITHDRAWN_STATUSES = frozenset({"stopped", "entered-in-error", "completed"})


@dataclass(frozen=True)
class EntryKind:
    """One kind of entry: whether it is allowed and what naming it needs."""

    code: str
    title: str
    allowed: bool
    needs_atc: bool


ENTRY_KINDS: tuple[EntryKind, ...] = (
    EntryKind("medicine", "Legemiddel", True, True),
    EntryKind("otc", "Reseptfritt legemiddel", True, True),
    EntryKind("supplement", "Kosttilskudd", True, False),
    EntryKind("vaccine", "Vaksine (vaksinasjonsregisteret)", False, False),
    EntryKind("food", "Næringsmiddel", False, False),
    EntryKind("consumable", "Forbruksmateriell", False, False),
)
KIND_BY_CODE = {kind.code: kind for kind in ENTRY_KINDS}
DEFAULT_KIND = KIND_BY_CODE["medicine"]


def codes(statement: dict[str, Any], system: str) -> list[str]:
    """The codes of the statement's medicine in `system`."""
    concept = statement.get("medicationCodeableConcept") or {}
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return [
        c["code"]
        for c in codings or []
        if isinstance(c, dict) and c.get("system") == system and isinstance(c.get("code"), str)
    ]


def kind_of(statement: dict[str, Any]) -> EntryKind | None:
    """The entry's kind (a vaccine when coded J07), None for an unknown kind code."""
    if any(code.upper().startswith(VACCINE_ATC_PREFIX) for code in codes(statement, ATC)):
        return KIND_BY_CODE["vaccine"]
    category = statement.get("category") or {}
    named = [
        c.get("code")
        for c in (category.get("coding") or [] if isinstance(category, dict) else [])
        if isinstance(c, dict) and c.get("system") == ENTRY_KIND_SYSTEM
    ]
    if not named:
        return DEFAULT_KIND
    return KIND_BY_CODE.get(str(named[0]))


def entry_uuid(statement: dict[str, Any]) -> str | None:
    """The entry's stable UUID (its `urn:uuid:` identifier), None when it has none."""
    for identifier in statement.get("identifier") or []:
        value = identifier.get("value") if isinstance(identifier, dict) else None
        if identifier.get("system") == IDENTIFIER_SYSTEM and isinstance(value, str):
            text = value.removeprefix("urn:uuid:")
            try:
                return str(uuid.UUID(text)) if value.startswith("urn:uuid:") else None
            except ValueError:
                return None
    return None


def entry_name(statement: dict[str, Any]) -> str:
    """How an issue names the entry: its medicine and its UUID."""
    concept = statement.get("medicationCodeableConcept") or {}
    text = concept.get("text") if isinstance(concept, dict) else None
    atc = codes(statement, ATC)
    medicine = text or (atc[0] if atc else "unnamed entry")
    return f"{medicine} ({entry_uuid(statement) or 'no identifier'})"


def entry_issues(statement: dict[str, Any], patient_id: str, position: str) -> list[Issue]:
    """Every problem of one entry, one issue each, naming the entry."""
    name = entry_name(statement)
    issues: list[Issue] = []
    if statement.get("resourceType") != "MedicationStatement":
        return [error("invalid", f"Entry {position} must be a MedicationStatement", position)]
    if entry_uuid(statement) is None:
        message = f"{name}: needs an identifier {IDENTIFIER_SYSTEM} with a urn:uuid: value"
        issues.append(error("required", message, f"{position}.identifier"))
    kind = kind_of(statement)
    if kind is None:
        message = f"{name}: unknown entry kind (allowed: medicine, otc, supplement)"
        issues.append(error("code-invalid", message, f"{position}.category"))
    elif not kind.allowed:
        message = f"{name}: a {kind.code} ({kind.title}) is not allowed on the medication list"
        issues.append(error("business-rule", message, f"{position}.medicationCodeableConcept"))
    elif kind.needs_atc and not codes(statement, ATC):
        message = f"{name}: a {kind.code} must be coded with ATC ({ATC})"
        issues.append(error("required", message, f"{position}.medicationCodeableConcept"))
    elif not kind.needs_atc and not _named(statement):
        message = f"{name}: a supplement needs a name (medicationCodeableConcept.text)"
        issues.append(error("required", message, f"{position}.medicationCodeableConcept"))
    subject = (statement.get("subject") or {}).get("reference")
    if subject != f"Patient/{patient_id}":
        message = f"{name}: the subject must be Patient/{patient_id}"
        issues.append(error("business-rule", message, f"{position}.subject"))
    return issues


def _named(statement: dict[str, Any]) -> bool:
    concept = statement.get("medicationCodeableConcept") or {}
    return isinstance(concept, dict) and bool(concept.get("text") or concept.get("coding"))


def is_withdrawn(statement: dict[str, Any]) -> bool:
    """Stopped, completed or entered in error: leaves the list after the grace period."""
    return statement.get("status") in WITHDRAWN_STATUSES
