"""The CapabilityStatement (R4 §3.1.0.9): only what really works.

Built from what the server has — the resource types, the search parameter registry (less
the parameters the engine refuses), the operation registry and the SMART configuration —
so it changes with them; `tests/api/test_capability_routes.py` checks it route by route.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from samhandling import FHIR_VERSION, __version__
from samhandling.audit.queries import SORTS as AUDIT_SORTS
from samhandling.definitions.operation_definitions import operation_url
from samhandling.definitions.published import SHIPPED_TYPES
from samhandling.fhir.search_parameters import SearchParameterRegistry, default_registry
from samhandling.fhir.validation import RESOURCE_TYPES
from samhandling.interactions.operations import ANY_TYPE
from samhandling.profiles import shipped_profiles
from samhandling.search.criteria import UNSUPPORTED

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
AUDIT_EVENT = "AuditEvent"
AUDIT_SEARCH = (
    ("patient", "reference"), ("agent", "token"), ("date", "date"), ("purpose", "token"),
    ("outcome", "token"), ("emergency", "token"), ("_id", "token"),
)  # fmt: skip
OperationKey = tuple[str, str, str | None]  # name, level, resource type (None: system)
_OperationsByType = defaultdict[str | None, set[tuple[str, str | None]]]
SHIPPED_NOTE = (
    "The {type} resources shipped with the platform are read-only (update, patch and delete"
    " of them are 405; a new {type} may not claim a shipped url); other {type} resources"
    " can be written as usual."
)
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_DESCRIPTION = (
    "Every request except this CapabilityStatement and .well-known/smart-configuration"
    " needs a JWT access token (RS256, PS256 or ES256) from a trusted issuer, as Bearer or"
    " DPoP-bound (RFC 9449). Clinicians need the trust-framework attestation"
    " (nhn:tillitsrammeverk:parameters) with purpose of use TREAT, ETREAT, COC or BTG, at"
    " most 60 minutes old; emergency access needs a reason. SMART v1 and v2 scopes"
    " (patient/, user/, system/) restrict types and interactions. Every access is audited."
)


def capability_statement(
    base_url: str, operations: Iterable[OperationKey] = (), smart: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A server CapabilityStatement for `base_url`, its operations and SMART endpoints."""
    by_type = _operations_by_type(operations)
    resources = _resources(by_type)
    statement: dict[str, Any] = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-04",
        "kind": "instance",
        "software": {"name": "samhandling", "version": __version__},
        "implementation": {"description": "samhandling FHIR server", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json", "application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": _security(smart or {}),
                "resource": resources,
                "interaction": [
                    {"code": "transaction"},
                    {"code": "batch"},
                    {"code": "search-system"},
                    {"code": "history-system"},
                ],
            }
        ],
    }
    if by_type[None]:
        statement["rest"][0]["operation"] = _operations(by_type[None])
    return statement


def _operations_by_type(operations: Iterable[OperationKey]) -> _OperationsByType:
    """Per resource type (None: the system), the operations listed on it."""
    # per type: (operation name, the type whose definition it is); an operation on Resource
    # (`ANY_TYPE`, e.g. $validate) is listed on every type with the Resource definition
    by_type: _OperationsByType = defaultdict(set)
    for name, _level, rtype in operations:
        targets = sorted(RESOURCE_TYPES) if rtype == ANY_TYPE else [rtype]
        for target in targets:
            by_type[target].add((name, rtype))
    return by_type


def _resources(by_type: _OperationsByType) -> list[dict[str, Any]]:
    """`rest.resource`: every resource type, in order, with its operations."""
    registry = default_registry()
    rev_includes = _rev_includes(registry)
    return [
        _audit_event(by_type[AUDIT_EVENT])
        if rtype == AUDIT_EVENT
        else _resource(registry, rtype, by_type[rtype], rev_includes[rtype])
        for rtype in sorted(RESOURCE_TYPES)
    ]


def _security(smart: dict[str, Any]) -> dict[str, Any]:
    """`rest.security` with the SMART endpoints the server knows (SMART App Launch 1.0 §2)."""
    uris = [
        {"url": name, "valueUri": smart[key]}
        for name, key in (("token", "token_endpoint"), ("authorize", "authorization_endpoint"))
        if smart.get(key)
    ]
    service = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                "code": "SMART-on-FHIR",
            }
        ],
        "text": "OAuth 2 / HelseID-style JWT access tokens",
    }
    security: dict[str, Any] = {"cors": False, "service": [service]}
    if uris:
        security["extension"] = [{"url": OAUTH_URIS, "extension": uris}]
    security["description"] = SECURITY_DESCRIPTION
    return security


def _operations(operations: set[tuple[str, str | None]]) -> list[dict[str, str]]:
    return [
        {"name": name, "definition": operation_url(defined_on, name)}
        for name, defined_on in sorted(operations, key=lambda op: (op[0], op[1] or ""))
    ]


def _search_params(registry: SearchParameterRegistry, rtype: str) -> list[dict[str, Any]]:
    return [
        {"name": code, "type": p.type, "definition": p.url}
        for code, p in registry.for_type(rtype).items()
        if code not in UNSUPPORTED
    ]


def _rev_includes(registry: SearchParameterRegistry) -> dict[str, list[str]]:
    """Per target type, the `Source:param` values `_revinclude` accepts (sorted)."""
    found: dict[str, set[str]] = defaultdict(set)
    for source in registry.resource_types:
        for code, parameter in registry.for_type(source).items():
            if parameter.type == "reference":
                for target in parameter.targets or registry.resource_types:
                    found[target].add(f"{source}:{code}")
    return defaultdict(list, {rtype: sorted(values) for rtype, values in found.items()})


def _resource(
    registry: SearchParameterRegistry,
    rtype: str,
    operations: set[tuple[str, str | None]],
    rev: list[str],
) -> dict[str, Any]:
    params = _search_params(registry, rtype)
    includes = [p["name"] for p in params if p["type"] == "reference"]
    profiles = sorted(p.url for p in shipped_profiles().values() if p.type == rtype)
    entry: dict[str, Any] = {
        "type": rtype,
        **({"supportedProfile": profiles} if profiles else {}),
        **({"documentation": SHIPPED_NOTE.format(type=rtype)} if rtype in SHIPPED_TYPES else {}),
        "interaction": [{"code": code} for code in INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalRead": "full-support",
        "conditionalUpdate": True,
        "conditionalDelete": "single",
        "searchInclude": ["*", *(f"{rtype}:{code}" for code in includes)],
        "searchRevInclude": ["*", *rev],
        "searchParam": params,
    }
    if operations:
        entry["operation"] = _operations(operations)
    return entry


def _audit_event(operations: set[tuple[str, str | None]]) -> dict[str, Any]:
    """The audit trail: read and search only, by its own parameters (`audit/queries.py`)."""
    sorts = ", ".join(f"`{s}`" for s in AUDIT_SORTS)
    entry: dict[str, Any] = {
        "type": AUDIT_EVENT,
        "documentation": (
            "The audit trail: read-only (create, update, patch and delete are 405), for"
            f" callers with an explicit AuditEvent scope. _count, _sort ({sorts}; newest"
            " first by default) and next links by _after."
        ),
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "readHistory": False,
        "updateCreate": False,
        "searchParam": [{"name": name, "type": kind} for name, kind in AUDIT_SEARCH],
    }
    if operations:
        entry["operation"] = _operations(operations)
    return entry
