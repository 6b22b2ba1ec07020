"""The OperationDefinitions of the platform's extended operations (R4 §2.38, OperationDefinition).

One definition per operation and resource type (id `samhandling-{Type}-{name}`: the core
specification's own are `{Type}-{name}`, e.g. `ValueSet-expand`, and a server that holds
those too must not collide with ours), with the levels it works at, whether it changes data
and its parameters, all taken from the service's `Operation` (`services.service.Platform`).
They are published with the other shipped definitions (`published.py`), so
`GET OperationDefinition/samhandling-Patient-match` and `OperationDefinition?url=`
resolve, and the CapabilityStatement points at them.
"""

from __future__ import annotations

from typing import Any

CANONICAL_BASE = "https://samhandling.no/fhir"  # the canonical base of our definitions
ID_PREFIX = "samhandling"
Param = tuple[str, str, int, str, str]  # name, use (in/out), min, max, type


def operation_url(resource_type: str | None, name: str) -> str:
    """The canonical url of the definition of `$name` on `resource_type` (None: system)."""
    return f"{CANONICAL_BASE}/OperationDefinition/{definition_id(resource_type, name)}"


def definition_id(resource_type: str | None, name: str) -> str:
    """The id of the definition of `$name` on `resource_type` (None: system)."""
    return f"{ID_PREFIX}-{resource_type}-{name}" if resource_type else f"{ID_PREFIX}-{name}"


def operation_definition(
    rtype: str | None,
    name: str,
    levels: tuple[str, ...],
    affects_state: bool,
    description: str,
    params: tuple[Param, ...],
) -> dict[str, Any]:
    """The OperationDefinition of `$name` on `rtype` at `levels`, as a FHIR resource."""
    return {
        "resourceType": "OperationDefinition",
        "id": definition_id(rtype, name),
        "url": operation_url(rtype, name),
        "name": "".join(part.capitalize() for part in f"{rtype or 'System'}-{name}".split("-")),
        "status": "active",
        "kind": "operation",
        "publisher": "samhandling",
        "description": description,
        "affectsState": affects_state,
        "code": name,
        **({"resource": [rtype]} if rtype else {}),
        "system": "system" in levels,
        "type": "type" in levels,
        "instance": "instance" in levels,
        "parameter": [
            {"name": p_name, "use": use, "min": low, "max": high, "type": p_type}
            for p_name, use, low, high, p_type in params
        ],
    }
