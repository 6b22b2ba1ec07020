"""The CapabilityStatement (R4 §3.1.0.9): only what really works."""

from __future__ import annotations

from typing import Any

from samhandling import FHIR_VERSION, __version__
from samhandling.fhir.search_parameters import default_registry
from samhandling.fhir.validation import RESOURCE_TYPES
from samhandling.profiles import shipped_profiles

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


CANONICAL_BASE = "https://samhandling.no/fhir"
SECURITY = {
    "cors": False,
    "service": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR",
                }
            ],
            "text": "OAuth 2 / HelseID-style JWT access tokens",
        }
    ],
    "description": (
        "Every request except this CapabilityStatement and .well-known/smart-configuration"
        " needs a JWT access token (RS256, PS256 or ES256) from a trusted issuer, as Bearer or"
        " DPoP-bound (RFC 9449). Clinicians need the trust-framework attestation"
        " (nhn:tillitsrammeverk:parameters) with purpose of use TREAT, ETREAT, COC or BTG, at"
        " most 60 minutes old; emergency access needs a reason. SMART v1 and v2 scopes"
        " (patient/, user/, system/) restrict types and interactions. Every access is audited."
    ),
}


def capability_statement(
    base_url: str, operations: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """A server CapabilityStatement for `base_url` (operations: (name, level) pairs)."""
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
                "security": SECURITY,
                "resource": [_resource(t) for t in sorted(RESOURCE_TYPES)],
                "operation": [
                    {"name": name, "definition": f"{CANONICAL_BASE}/OperationDefinition/{name}"}
                    for name, _level in sorted(set(operations or []))
                ],
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
    profiles = sorted(p.url for p in shipped_profiles().values() if p.type == resource_type)
    return {
        "type": resource_type,
        **({"supportedProfile": profiles} if profiles else {}),
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
