"""The OperationDefinitions of the platform's extended operations (R4 §2.38, OperationDefinition).

One definition per operation and resource type (id `samhandling-{Type}-{name}`: the core
specification's own are `{Type}-{name}`, e.g. `ValueSet-expand`, and a server that holds
those too must not collide with ours), with the levels it works at, whether it changes data
and its parameters. They are published with the other shipped definitions (`published.py`),
so `GET OperationDefinition/samhandling-Patient-match` and `OperationDefinition?url=`
resolve, and the CapabilityStatement points at them. A test checks that they agree with
the operation registry (every registered operation has its definition, at the same levels).
"""

from __future__ import annotations

from typing import Any

CANONICAL_BASE = "https://samhandling.no/fhir"  # the canonical base of our definitions
ID_PREFIX = "samhandling"
Param = tuple[str, str, int, str, str]  # name, use (in/out), min, max, type

_CONFIRM: tuple[Param, ...] = (("return", "out", 1, "1", "Resource"),)
_CRITICAL_IN: tuple[Param, ...] = (("identifier", "in", 0, "1", "string"),)
_CRITICAL_OUT: tuple[Param, ...] = (
    ("patient", "out", 1, "1", "Reference"),
    ("present", "out", 1, "1", "boolean"),
    ("lastChanged", "out", 0, "1", "instant"),
    ("withheld", "out", 0, "*", "code"),
)
_VALIDATE_OUT: tuple[Param, ...] = (
    ("result", "out", 1, "1", "boolean"),
    ("message", "out", 0, "1", "string"),
    ("display", "out", 0, "1", "string"),
)
_CODES: tuple[Param, ...] = (
    ("code", "in", 0, "1", "code"),
    ("display", "in", 0, "1", "string"),
    ("coding", "in", 0, "1", "Coding"),
    ("codeableConcept", "in", 0, "1", "CodeableConcept"),
)
_ACCESS_LOG: tuple[Param, ...] = (
    ("date", "in", 0, "*", "string"),
    ("start", "in", 0, "1", "dateTime"),
    ("end", "in", 0, "1", "dateTime"),
    ("organisation", "in", 0, "1", "string"),
    ("_count", "in", 0, "1", "integer"),
    ("_after", "in", 0, "1", "string"),
    ("access", "out", 0, "*", "BackboneElement"),
    ("next", "out", 0, "1", "uri"),
)

# (type, name, levels, affects state, description, parameters)
# fmt: off
SPECS: tuple[tuple[str, str, tuple[str, ...], bool, str, tuple[Param, ...]], ...] = (
    *(
        (rtype, "confirm", ("instance",), True, "Confirm that the entry is still right "
         "(stamps the last-confirmed extension).", _CONFIRM)
        for rtype in ("AllergyIntolerance", "Condition", "DeviceUseStatement", "Flag", "Procedure")
    ),
    ("AuditEvent", "emergency-report", ("type",), False,
     "Emergency accesses per organisation in a period (security officers).",
     (("start", "in", 0, "1", "date"), ("end", "in", 0, "1", "date"),
      ("organisation", "out", 0, "*", "BackboneElement"))),
    ("CodeSystem", "lookup", ("type",), False, "Details of a code of a shipped code system.",
     (("system", "in", 0, "1", "uri"), ("code", "in", 0, "1", "code"),
      ("version", "in", 0, "1", "string"), ("coding", "in", 0, "1", "Coding"),
      ("property", "in", 0, "*", "code"), ("name", "out", 1, "1", "string"),
      ("version", "out", 0, "1", "string"), ("display", "out", 0, "1", "string"),
      ("designation", "out", 0, "*", "BackboneElement"),
      ("property", "out", 0, "*", "BackboneElement"))),
    ("CodeSystem", "validate-code", ("type",), False, "Whether a code is in a code system.",
     (("url", "in", 0, "1", "uri"), ("version", "in", 0, "1", "string"), *_CODES,
      *_VALIDATE_OUT)),
    ("Patient", "access-log", ("instance",), False,
     "Who accessed the patient's data, when and why (the citizen's access log), newest "
     "first, in pages.", _ACCESS_LOG),
    ("Patient", "allocate-fh", ("type",), True,
     "Allocate a felles hjelpenummer (FH-number) to a patient who cannot be identified.",
     (("reason", "in", 1, "1", "string"), ("patient", "in", 0, "1", "Patient"),
      ("fh-number", "out", 1, "1", "Identifier"), ("patient", "out", 1, "1", "Patient"),
      ("reason", "out", 1, "1", "string"), ("requested-by", "out", 1, "1", "BackboneElement"))),
    ("Patient", "critical-information", ("type", "instance"), False,
     "The patient's critical information (kritisk info), grouped by kind.",
     (*_CRITICAL_IN, *_CRITICAL_OUT, ("group", "out", 0, "*", "BackboneElement"))),
    ("Patient", "critical-information-indicator", ("type", "instance"), False,
     "Whether the patient has critical information, how much and when it last changed.",
     (*_CRITICAL_IN, *_CRITICAL_OUT, ("group", "out", 0, "*", "BackboneElement"))),
    ("Patient", "match", ("type",), False, "Candidate Patients for a Patient resource, ranked.",
     (("resource", "in", 1, "1", "Patient"), ("onlyCertainMatches", "in", 0, "1", "boolean"),
      ("count", "in", 0, "1", "integer"), ("return", "out", 1, "1", "Bundle"))),
    ("Patient", "merge", ("type",), True,
     "Merge a duplicate Patient (source) into the one that stays (target).",
     (("source-patient", "in", 0, "1", "Reference"),
      ("source-patient-identifier", "in", 0, "*", "Identifier"),
      ("target-patient", "in", 0, "1", "Reference"),
      ("target-patient-identifier", "in", 0, "*", "Identifier"),
      ("result-patient", "in", 0, "1", "Patient"), ("preview", "in", 0, "1", "boolean"),
      ("outcome", "out", 1, "1", "OperationOutcome"))),
    ("ValueSet", "expand", ("type",), False, "The codes of a shipped value set.",
     (("url", "in", 1, "1", "uri"), ("filter", "in", 0, "1", "string"),
      ("offset", "in", 0, "1", "integer"), ("count", "in", 0, "1", "integer"),
      ("return", "out", 1, "1", "ValueSet"))),
    ("ValueSet", "validate-code", ("type",), False, "Whether a code is in a value set.",
     (("url", "in", 1, "1", "uri"), ("system", "in", 0, "1", "uri"),
      ("systemVersion", "in", 0, "1", "string"), *_CODES, *_VALIDATE_OUT)),
)
# fmt: on


def operation_url(resource_type: str | None, name: str) -> str:
    """The canonical url of the definition of `$name` on `resource_type` (None: system)."""
    return f"{CANONICAL_BASE}/OperationDefinition/{definition_id(resource_type, name)}"


def definition_id(resource_type: str | None, name: str) -> str:
    """The id of the definition of `$name` on `resource_type` (None: system)."""
    return f"{ID_PREFIX}-{resource_type}-{name}" if resource_type else f"{ID_PREFIX}-{name}"


def operation_definitions() -> list[dict[str, Any]]:
    """Every OperationDefinition, as a FHIR resource."""
    return [_definition(*spec) for spec in SPECS]


def _definition(
    rtype: str,
    name: str,
    levels: tuple[str, ...],
    affects_state: bool,
    description: str,
    params: tuple[Param, ...],
) -> dict[str, Any]:
    return {
        "resourceType": "OperationDefinition",
        "id": definition_id(rtype, name),
        "url": operation_url(rtype, name),
        "name": "".join(part.capitalize() for part in f"{rtype}-{name}".split("-")),
        "status": "active",
        "kind": "operation",
        "publisher": "samhandling",
        "description": description,
        "affectsState": affects_state,
        "code": name,
        "resource": [rtype],
        "system": "system" in levels,
        "type": "type" in levels,
        "instance": "instance" in levels,
        "parameter": [
            {"name": p_name, "use": use, "min": low, "max": high, "type": p_type}
            for p_name, use, low, high, p_type in params
        ],
    }
