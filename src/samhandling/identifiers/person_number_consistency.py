"""Does a Patient's fødselsnummer, D-number or H-number agree with its birthDate and gender?

The number encodes the birth date (a D-number adds 40 to the day, an H-number 40 to the
month) and, for numbers issued before 2032, the sex (ninth digit odd: male, even: female).
A Patient whose `birthDate` or `gender` says otherwise is probably a mix-up of two people.
Writes get a warning; the services where it must be right (critical information) refuse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from samhandling.fhir.outcome import Issue
from samhandling.identifiers.common import InvalidIdentifier
from samhandling.identifiers.identifier_systems import DNR_SYSTEM, FNR_SYSTEM, normalise_system
from samhandling.identifiers.patient_claims import is_h_number, mask_number
from samhandling.identifiers.person_numbers import classify_person_number

_DATED_SYSTEMS = (FNR_SYSTEM, DNR_SYSTEM)


def demographic_contradictions(patient: dict[str, Any]) -> list[Issue]:
    """A warning per person number whose birth date or sex contradicts the Patient's."""
    if patient.get("resourceType") != "Patient":
        return []
    issues = []
    for index, identifier in enumerate(patient.get("identifier") or []):
        if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
            continue
        system = normalise_system(str(identifier.get("system") or ""))
        if system not in _DATED_SYSTEMS and not is_h_number(identifier):
            continue
        where = f"Patient.identifier[{index}].value"
        for problem in _contradictions(identifier["value"], patient):
            message = f"The number {mask_number(identifier['value'])} {problem}"
            issues.append(Issue("warning", "business-rule", message, (where,)))
    return issues


def _contradictions(value: str, patient: dict[str, Any]) -> list[str]:
    try:
        # The date bound is no concern here: the number was checked when it was written.
        number = classify_person_number(value, today=dt.date.max)
    except InvalidIdentifier:
        return []
    problems = []
    birth_date = patient.get("birthDate")
    if number.birth_date and isinstance(birth_date, str):
        encoded = number.birth_date.isoformat()
        if not encoded.startswith(birth_date[:10]):  # birthDate may be a year or year-month
            problems.append(f"encodes birth date {encoded}, but birthDate is {birth_date}")
    gender = patient.get("gender")
    if number.sex and gender in ("male", "female") and gender != number.sex:
        problems.append(f"encodes sex {number.sex}, but gender is {gender}")
    return problems
