"""The CapabilityStatement (R4 §3.1.0.9): only what really works."""

from __future__ import annotations

from typing import Any

from samhandling import FHIR_VERSION, __version__
from samhandling.fhir.search_parameters import default_registry
from samhandling.fhir.validation import RESOURCE_TYPES

INTERACTIONS = (
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)


def capability_statement(base_url: str) -> dict[str, Any]:
    """A server CapabilityStatement for `base_url`."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "kind": "instance",
        "software": {"name": "samhandling", "version": __version__},
        "implementation": {"description": "samhandling FHIR server", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json", "application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "resource": [_resource(t) for t in sorted(RESOURCE_TYPES)],
                "interaction": [
                    {"code": "transaction"},
                    {"code": "batch"},
                    {"code": "history-system"},
                ],
            }
        ],
    }


def _resource(resource_type: str) -> dict[str, Any]:
    registry = default_registry()
    params = [
        {"name": code, "type": p.type, "definition": p.url}
        for code, p in sorted(registry.for_type(resource_type).items())
        if not code.startswith("_")
    ]
    params.insert(0, {"name": "_id", "type": "token"})
    params.insert(1, {"name": "_lastUpdated", "type": "date"})
    return {
        "type": resource_type,
        "interaction": [{"code": code} for code in INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalRead": "not-supported",
        "conditionalUpdate": True,
        "conditionalDelete": "single",
        "searchParam": params,
    }
