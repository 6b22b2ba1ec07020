"""`POST Patient/$match` (IHE PDQm ITI-119, FHIR R4 Patient-match): find the Patients that
match some demographics, each with a score and a grade, so that a journal system can find
the right person without knowing the exact number.

Input (Parameters): `resource` (Patient, required), `onlyCertainMatches` (boolean),
`count` (1..100, default 10). Output: a searchset Bundle, best first; each entry has
`search.mode` "match", `search.score` and the `match-grade` extension (see `match_scoring`).
With `onlyCertainMatches` only certain matches are returned, and none when there are
several (the answer then carries an OperationOutcome warning).

Candidates come from ordinary searches under the caller's access guard (identifier;
family + birth date; given + birth date; family + given; or the single field given), so
that `$match` can never show a Patient that a search would not. A Patient merged into
another (`link` replaced-by) is answered by the Patient that replaced it.
"""

from __future__ import annotations

import re
from typing import Any

from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.validation import validate_resource
from samhandling.interactions.guarded_search import guarded_search
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.services.identity.common import (
    patient_id_of_reference,
)
from samhandling.services.identity.lookups import current_resource
from samhandling.services.identity.match_scoring import Demographics, Score, demographics, score

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
DEFAULT_COUNT, MAX_COUNT = 10, 100
CANDIDATES_PER_QUERY = 50
DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")


def match(context: OperationContext) -> OperationResult:
    """The operation handler (see the module doc)."""
    patient = context.resource("resource", "Patient")
    if patient is None:
        raise FhirError(400, error("required", "Parameter resource (a Patient) is required"))
    problems = [i for i in validate_resource(patient) if i.severity in ("error", "fatal")]
    if problems:
        raise FhirError(400, problems)
    only_certain = context.boolean("onlyCertainMatches")
    count = context.integer("count", 1, MAX_COUNT) or DEFAULT_COUNT
    wanted = demographics(patient)
    queries = candidate_queries(wanted)
    if not queries:
        message = "The Patient must carry an identifier, a name or a birth date to match on"
        raise FhirError(400, error("required", message, "resource"))
    ranked = rank(context, wanted, queries)
    warning = None
    if only_certain:
        ranked = [(p, s) for p, s in ranked if s.grade == "certain"]
        if len(ranked) > 1:
            warning = f"{len(ranked)} Patients match with certainty; none is returned"
            ranked = []
    return OperationResult(match_bundle(context.base_url, ranked[:count], warning))


def candidate_queries(wanted: Demographics) -> list[list[tuple[str, str]]]:
    """The searches that find candidates for these demographics."""
    queries = [
        [("identifier", f"{_escape(s)}|{_escape(v)}")] for s, v in sorted(wanted.identifiers)
    ]
    family = _escape(wanted.families[0]) if wanted.families else None
    given = _escape(wanted.givens[0]) if wanted.givens else None
    birth = wanted.birth_date if wanted.birth_date and DATE.fullmatch(wanted.birth_date) else None
    pairs = [
        [("family", family), ("birthdate", birth)],
        [("given", given), ("birthdate", birth)],
        [("family", family), ("given", given)],
    ]
    complete = [[(k, v) for k, v in pair if v] for pair in pairs if all(v for _, v in pair)]
    queries += complete
    if not complete:
        queries += [
            [(k, v)] for k, v in (("family", family), ("given", given), ("birthdate", birth)) if v
        ]
    return [[*q, ("_count", str(CANDIDATES_PER_QUERY))] for q in queries]


def _escape(value: str) -> str:
    """A search value with FHIR's separators escaped (R4 §3.1.1.5.7)."""
    for char in ("\\", ",", "$", "|"):
        value = value.replace(char, "\\" + char)
    return value


def rank(
    context: OperationContext, wanted: Demographics, queries: list[list[tuple[str, str]]]
) -> list[tuple[dict[str, Any], Score]]:
    """Scored candidates, best first (ties by id); replaced Patients stand for their successor."""
    best: dict[str, tuple[dict[str, Any], Score]] = {}
    for items in queries:
        bundle = guarded_search(
            context.connection, "Patient", items, context.base_url, context.guard
        )
        for entry in bundle.get("entry", []):
            if entry.get("search", {}).get("mode") != "match":
                continue
            found = score(wanted, demographics(entry["resource"]))
            patient = _successor(context, entry["resource"])
            if found is None or patient is None:
                continue
            known = best.get(patient["id"])
            if known is None or known[1].value < found.value:
                best[patient["id"]] = (patient, found)
    return sorted(best.values(), key=lambda item: (-item[1].value, item[0]["id"]))


def _successor(context: OperationContext, patient: dict[str, Any]) -> dict[str, Any] | None:
    """The Patient itself, or the one it was merged into (if the caller may see it)."""
    for _ in range(10):
        link = next((x for x in patient.get("link", []) if x.get("type") == "replaced-by"), None)
        if link is None:
            return patient
        target = patient_id_of_reference(
            link.get("other", {}).get("reference", ""), context.base_url
        )
        successor = current_resource(context.connection, "Patient", target) if target else None
        if successor is None or not context.guard.visible("search", successor):
            return None
        patient = successor
    return None


def match_bundle(
    base_url: str, ranked: list[tuple[dict[str, Any], Score]], warning: str | None
) -> dict[str, Any]:
    """The searchset Bundle of the answer."""
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{base_url}/Patient/{patient['id']}",
            "resource": patient,
            "search": {
                "extension": [{"url": MATCH_GRADE, "valueCode": found.grade}],
                "mode": "match",
                "score": found.value,
            },
        }
        for patient, found in ranked
    ]
    if warning:
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "warning", "code": "multiple-matches", "diagnostics": warning}],
        }
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    return {"resourceType": "Bundle", "type": "searchset", "total": len(ranked), "entry": entries}


OPERATION = Operation(
    "match",
    "type",
    "Patient",
    match,
    permission="s",
    description="Candidate Patients for a Patient resource, ranked.",
    parameters=(
        ("resource", "in", 1, "1", "Patient"),
        ("onlyCertainMatches", "in", 0, "1", "boolean"),
        ("count", "in", 0, "1", "integer"),
        ("return", "out", 1, "1", "Bundle"),
    ),
)
