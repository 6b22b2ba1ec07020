"""Scoring a candidate Patient against the demographics of a `$match` request.

Weights (a perfect match of every field sums to 1.0): family name 0.35, given name 0.25,
birth date 0.30, gender 0.05, postal code 0.05. Names are compared after the platform's
string folding (`Ødegård` = `odegard`); a misspelt name earns its similarity (difflib
ratio, counted from 0.75). A birth date with only the day, the month or the year wrong, or
with day and month swapped, earns half. A conflicting gender costs 0.2.

Grades (the `match-grade` extension):
* certain — an identifier in common (score 1.0), or family name, given name and birth date
  all exactly equal with no conflicting gender;
* probable — score ≥ 0.6; possible — score ≥ 0.35; below that the candidate is dropped;
* certainly-not — the candidate carries a different number in the same national identifier
  system (fødselsnummer, D-number) as the request and none in common: dropped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from samhandling.fhir.text_folding import fold
from samhandling.identifiers.identifier_systems import DNR_SYSTEM, FNR_SYSTEM
from samhandling.services.identity.common import identifier_key

WEIGHTS = {"family": 0.35, "given": 0.25, "birthDate": 0.30, "gender": 0.05, "postalCode": 0.05}
GENDER_CONFLICT = 0.2
SIMILARITY_FLOOR = 0.75
PROBABLE, POSSIBLE = 0.6, 0.35
EXCLUSIVE_SYSTEMS = frozenset({FNR_SYSTEM, DNR_SYSTEM})


@dataclass(frozen=True)
class Demographics:
    """The comparable facts of one Patient."""

    identifiers: frozenset[tuple[str, str]]
    families: tuple[str, ...]
    givens: tuple[str, ...]
    birth_date: str | None
    gender: str | None
    postal_codes: frozenset[str]


@dataclass(frozen=True)
class Score:
    """A candidate's score (0..1) and grade."""

    value: float
    grade: str


def demographics(patient: dict[str, Any]) -> Demographics:
    """The facts of a Patient resource used for matching."""
    keys = (identifier_key(i) for i in patient.get("identifier") or [])
    families, givens = [], []
    for name in patient.get("name") or []:
        if isinstance(name.get("family"), str):
            families.append(fold(name["family"].strip()))
        givens += [fold(g.strip()) for g in name.get("given") or [] if isinstance(g, str)]
    postal = {a.get("postalCode") for a in patient.get("address") or []}
    birth = patient.get("birthDate")
    gender = patient.get("gender")
    return Demographics(
        frozenset(k for k in keys if k is not None),
        tuple(f for f in families if f),
        tuple(g for g in givens if g),
        birth if isinstance(birth, str) else None,
        gender if gender in ("male", "female", "other") else None,
        frozenset(p for p in postal if isinstance(p, str) and p),
    )


def score(wanted: Demographics, candidate: Demographics) -> Score | None:
    """The candidate's score and grade, or None when it is no match (or certainly not)."""
    if wanted.identifiers & candidate.identifiers:
        return Score(1.0, "certain")
    if _conflicting_national_id(wanted, candidate):
        return None
    family = _name_similarity(wanted.families, candidate.families)
    given = _name_similarity(wanted.givens, candidate.givens)
    birth = _date_similarity(wanted.birth_date, candidate.birth_date)
    conflict = bool(wanted.gender and candidate.gender and wanted.gender != candidate.gender)
    value = (
        WEIGHTS["family"] * family
        + WEIGHTS["given"] * given
        + WEIGHTS["birthDate"] * birth
        + (WEIGHTS["gender"] if wanted.gender and wanted.gender == candidate.gender else 0.0)
        + (WEIGHTS["postalCode"] if wanted.postal_codes & candidate.postal_codes else 0.0)
        - (GENDER_CONFLICT if conflict else 0.0)
    )
    value = round(max(0.0, min(value, 1.0)), 3)
    if family == given == birth == 1.0 and not conflict:
        return Score(value, "certain")
    if value >= PROBABLE:
        return Score(value, "probable")
    if value >= POSSIBLE:
        return Score(value, "possible")
    return None


def _conflicting_national_id(wanted: Demographics, candidate: Demographics) -> bool:
    for system, value in wanted.identifiers:
        if system not in EXCLUSIVE_SYSTEMS:
            continue
        theirs = {v for s, v in candidate.identifiers if s == system}
        if theirs and value not in theirs:
            return True
    return False


def _name_similarity(wanted: tuple[str, ...], found: tuple[str, ...]) -> float:
    """The best similarity of any pair of names (whole names or their parts)."""
    wanted_parts = _parts(wanted)
    found_parts = _parts(found)
    best = 0.0
    for a in wanted_parts:
        for b in found_parts:
            ratio = 1.0 if a == b else SequenceMatcher(None, a, b).ratio()
            best = max(best, ratio)
    return best if best >= SIMILARITY_FLOOR else 0.0


def _parts(names: tuple[str, ...]) -> set[str]:
    parts = set(names)
    for name in names:
        parts.update(p for p in name.replace("-", " ").split() if p)
    return parts


def _date_similarity(wanted: str | None, found: str | None) -> float:
    if not wanted or not found:
        return 0.0
    if wanted == found:
        return 1.0
    try:
        a, b = dt.date.fromisoformat(wanted), dt.date.fromisoformat(found)
    except ValueError:
        return 0.0
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    swapped = a.year == b.year and a.month == b.day and a.day == b.month
    return 0.5 if same == 2 or swapped else 0.0
