"""The patients a request's audit record names (`PolicyGuard`'s bookkeeping).

Three lists, in the order things happened, so that a Bundle entry's record can take what
came after its mark: the patients of each resource the caller was given, of each search
(those it was fixed on, within the caller's reach), and of each resource refused (named
only on a failed request's record: what it aimed at).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import orjson

from samhandling.auth import Decision
from samhandling.fhir.compartment import compartment_elements, patient_compartment_ids
from samhandling.fhir.search_parameters import default_registry


class PatientMark(NamedTuple):
    """How many entries each list held at a mark."""

    shown: int
    searched: int
    refused: int


class AuditPatients:
    """The patients shown, searched and refused during one request."""

    def __init__(self) -> None:
        self._shown: list[frozenset[str]] = []
        self._searched: list[frozenset[str]] = []
        self._refused: list[frozenset[str]] = []

    def mark(self) -> PatientMark:
        return PatientMark(len(self._shown), len(self._searched), len(self._refused))

    def since(self, start: PatientMark, *, refused: bool) -> set[str]:
        """The patients shown and searched since `start`, with `refused` also those of the
        resources refused since."""
        kept = self._shown[start.shown :] + self._searched[start.searched :]
        if refused:
            kept += self._refused[start.refused :]
        return set().union(*kept)

    def shown(self, resource: dict[str, Any]) -> None:
        """The caller was given `resource`: its patients are named."""
        self._shown.append(patients_of(resource))

    def refused(self, resource: dict[str, Any]) -> None:
        """The caller was refused `resource`: its patients are named on a failure's record."""
        patients = patients_of(resource)
        if patients:
            self._refused.append(patients)

    def searched(self, patients: Iterable[str], decision: Decision | None) -> None:
        """A search fixed on `patients`, under the search's `decision`: those within the
        caller's reach were looked at, whatever it found; one narrowed away, or a refused
        search, looked at nothing (like a refused read, only a failure's record names it)."""
        found = frozenset(patients)
        if not found:
            return
        reach = decision.patient_ids if decision and decision.effect == "narrow" else None
        within = found if reach is None else found & reach
        if decision is not None and not decision.allowed:
            within = frozenset()
        self._searched.append(within)
        self._refused.append(found - within)


def naming_reads(resource_type: str) -> frozenset[str]:
    """The top-level elements naming a resource of `resource_type` in the audit record
    reads (`PolicyGuard._observe`: type, id, version, and `patients_of`)."""
    return _NAMED_BY | compartment_elements(resource_type)


_NAMED_BY = frozenset({"resourceType", "id", "meta", "securityContext"})


def patients_of(resource: dict[str, Any]) -> frozenset[str]:
    """The patients whose data `resource` is (their compartments, a Binary's context)."""
    found = _compartment_patients(resource)
    if resource.get("resourceType") != "Binary":
        return found
    return found | _security_context_patient(resource)


#: compartment patients by what `patient_compartment_ids` reads of a resource; emptied
#: when full (a process names the resources of many patients)
MAX_REMEMBERED = 4096
_remembered: dict[tuple[Any, ...], frozenset[str]] = {}
_elements: dict[tuple[Any, int, str], frozenset[str]] = {}  # by registry state and type


def _compartment_patients(resource: dict[str, Any]) -> frozenset[str]:
    """`patient_compartment_ids`, remembered by all it reads of a resource: its type, a
    Patient's id and the top-level elements its compartment parameters start from
    (`compartment_elements`: those the policy facts keep to name a resource, so a Bundle
    of stored bytes names its patients from the facts alone), under the registry's state.
    A page of one patient's Observations asks about the same `subject` fifty times: the
    walk of the parameters' expressions cost 6 µs a resource, the key 1.5 µs."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return patient_compartment_ids(resource)
    registry = default_registry()
    state = (registry, registry.generation, resource_type)
    elements = _elements.get(state)
    if elements is None:
        if len(_elements) >= MAX_REMEMBERED:
            _elements.clear()
        elements = _elements[state] = compartment_elements(resource_type, registry)
    try:
        read = orjson.dumps({name: resource[name] for name in elements if name in resource})
    except TypeError:  # a value JSON does not write (not from a stored resource)
        return patient_compartment_ids(resource, registry=registry)
    own = resource.get("id") if resource_type == "Patient" else None
    key = (*state, own if isinstance(own, str) else None, read)
    found = _remembered.get(key)
    if found is None:
        found = patient_compartment_ids(resource, registry=registry)
        if len(_remembered) >= MAX_REMEMBERED:
            _remembered.clear()
        _remembered[key] = found
    return found


def _security_context_patient(resource: dict[str, Any]) -> set[str]:
    """The patient a Binary is bound to (a shared document's content): its reader is
    audited as reading that patient's data (ITI-68, the citizen's access log)."""
    if resource.get("resourceType") != "Binary":
        return set()
    reference = str((resource.get("securityContext") or {}).get("reference", ""))
    kind, _, patient_id = reference.partition("/")
    return {patient_id} if kind == "Patient" and patient_id and "/" not in patient_id else set()
