"""The patients a search is fixed on: whose record it looks at, whatever it finds.

The audit trail records a search with the patients whose data it returned and with these,
so that a search that finds nothing in a patient's record is in that patient's access log
too. A search is fixed on a patient when one of its criteria (criteria are AND-ed, so every
match belongs to that patient) names the Patient:

* a reference to it: `patient=1`, `subject=Patient/1`, `subject:Patient=1`, an absolute URL
  on this server's base (a bare id only where the parameter's one target is Patient);
* its identifier: `patient:identifier=system|value`, a chain `patient.identifier=…` or
  `subject:Patient.identifier=…`, or `identifier=…` of a Patient search, which whoever asks
  resolves to the Patient (`identifiers`);
* `_id=1` of a Patient search, or the compartment of `Patient/1/Observation`.

Each value OR-ed in such a criterion names a patient. A query that does not parse names
nobody (the search itself answers it with its error).
"""

from __future__ import annotations

from dataclasses import dataclass

from samhandling.fhir.indexing.references import parse_reference
from samhandling.fhir.outcome import FhirError
from samhandling.search.model import Criterion, SearchQuery
from samhandling.search.query import parse_search
from samhandling.search.values import split_escaped, unescape

PATIENT = "Patient"


@dataclass(frozen=True)
class PatientFocus:
    """Patient ids a search names, and identifiers (system or None for any, value) of
    Patients it names, still to be resolved."""

    ids: frozenset[str] = frozenset()
    identifiers: tuple[tuple[str | None, str], ...] = ()


def patient_focus(
    resource_type: str | None,
    items: list[tuple[str, str]],
    base_url: str | None,
    compartment: tuple[str, str] | None = None,
) -> PatientFocus:
    """The patients the search of `items` on `resource_type` (None: a system search,
    `_type` naming its types) is fixed on."""
    ids: set[str] = {compartment[1]} if compartment and compartment[0] == PATIENT else set()
    identifiers: list[tuple[str | None, str]] = []
    types = tuple(t for k, v in items if k == "_type" for t in v.split(",") if t)
    if resource_type is None and not types:
        return PatientFocus(frozenset(ids))
    try:
        query = parse_search(
            resource_type or "", items, lenient=True, resource_types=types, base_url=base_url
        )
    except FhirError:
        return PatientFocus(frozenset(ids))
    for criterion in query.criteria:
        ids.update(_ids(query, criterion))
        identifiers.extend(_identifiers(query, criterion))
    return PatientFocus(frozenset(ids), tuple(identifiers))


def _ids(query: SearchQuery, criterion: Criterion) -> list[str]:
    if criterion.modifier not in (None, PATIENT) or criterion.chain:
        return []
    if criterion.type == "id" and query.types == (PATIENT,) and criterion.modifier is None:
        return [unescape(value) for value in criterion.values if value]
    if criterion.type != "reference":
        return []
    found = (_referenced_patient(criterion, value, query.base_url) for value in criterion.values)
    return [patient_id for patient_id in found if patient_id]


def _referenced_patient(criterion: Criterion, value: str, base_url: str | None) -> str | None:
    text = unescape(value)
    base = (base_url or "").rstrip("/")
    if base and text.startswith(base + "/"):
        text = text[len(base) + 1 :]
    if "/" not in text:
        targets = criterion.parameter.targets if criterion.parameter else ()
        only_patients = criterion.modifier == PATIENT or targets == (PATIENT,)
        return text if only_patients and text else None
    if "://" in text or text.startswith("urn:"):
        return None
    parsed = parse_reference(text)
    if parsed is None or parsed.url is not None or parsed.target_type != PATIENT:
        return None
    return parsed.target_id


def _identifiers(query: SearchQuery, criterion: Criterion) -> list[tuple[str | None, str]]:
    if criterion.type == "reference" and criterion.modifier == "identifier":
        values = criterion.values  # the reference's own identifier: the patient's number
    elif criterion.type == "reference" and criterion.modifier in (None, PATIENT):
        chained = [
            inner.values
            for target, inner in criterion.chain
            if target == PATIENT and _plain_identifier(inner)
        ]
        values = tuple(value for found in chained for value in found)
    elif query.types == (PATIENT,) and _plain_identifier(criterion):
        values = criterion.values
    else:
        return []
    return [identifier for identifier in map(_token, values) if identifier is not None]


def _plain_identifier(criterion: Criterion) -> bool:
    return criterion.code == "identifier" and criterion.modifier is None and not criterion.chain


def _token(value: str) -> tuple[str | None, str] | None:
    """`system|value` or a bare `value` (any system); `|value` (no system) names none."""
    parts = split_escaped(value, "|")
    if len(parts) == 1:
        return (None, parts[0]) if parts[0] else None
    if len(parts) == 2 and parts[0] and parts[1]:
        return parts[0], parts[1]
    return None
