"""SMART on FHIR scopes, v1 (`.read`, `.write`, `.*`) and v2 (`.cruds` with optional query).

A clinical scope is `<context>/<ResourceType|*>.<permissions>[?<query>]` with context
`patient`, `user` or `system`. v1 `.read` grants read and search (`rs`), `.write` grants
`cud`, `.*` grants everything. v2 permissions are a non-empty ordered subset of `cruds`.
Other scopes (`openid`, `launch/patient`, `nhn:kjernejournal/api` …) are kept as-is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl

Context = Literal["patient", "user", "system"]

_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{1,63})"
    r"\.(?P<perm>[a-z*]+)(?:\?(?P<query>.*))?$"
)
_V2_PERMISSIONS = re.compile(r"^c?r?u?d?s?$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}

#: Interaction → the SMART v2 permission it needs.
INTERACTION_PERMISSION = {
    "create": "c",
    "read": "r",
    "vread": "r",
    "history": "r",
    "update": "u",
    "patch": "u",
    "delete": "d",
    "search": "s",
    "history-type": "s",
}


@dataclass(frozen=True)
class SmartScope:
    """One parsed clinical scope."""

    context: Context
    resource_type: str
    permissions: frozenset[str]
    query: tuple[tuple[str, str], ...] = ()
    version: int = 2
    raw: str = ""

    def covers(self, context: Context, resource_type: str, permission: str) -> bool:
        """Whether this scope grants `permission` on `resource_type` in `context`."""
        return (
            self.context == context
            and self.resource_type in ("*", resource_type)
            and permission in self.permissions
        )


def parse_scope(text: str) -> SmartScope | None:
    """A SmartScope, or None for a scope that is not a clinical SMART scope."""
    match = _SCOPE.match(text)
    if match is None:
        return None
    perm = match["perm"]
    if perm in _V1:
        permissions, version = _V1[perm], 1
    elif perm and _V2_PERMISSIONS.match(perm):
        permissions, version = perm, 2
    else:
        return None
    query = tuple(parse_qsl(match["query"] or "", keep_blank_values=True))
    if version == 1 and query:
        return None
    context: Context = match["context"]  # type: ignore[assignment]
    return SmartScope(context, match["type"], frozenset(permissions), query, version, text)


#: How many grants one `ScopeSet` remembers (contexts × types × permissions in use).
GRANTS_REMEMBERED = 256


@dataclass(frozen=True)
class ScopeSet:
    """The scopes of a token: parsed clinical scopes and all other scope strings.

    `grants` remembers the `grant`s that do not depend on the resource judged (keyed by
    contexts, type and permissions): a pure function of these immutable scopes, so a
    remembered token's principal answers its next read without judging its scopes again.
    """

    clinical: tuple[SmartScope, ...] = ()
    other: tuple[str, ...] = ()
    grants: dict[tuple[tuple[Context, ...], str, str], Grant] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def granting(
        self, contexts: Iterable[Context], resource_type: str, permission: str
    ) -> tuple[SmartScope, ...]:
        """The scopes that grant `permission` on `resource_type` in any of `contexts`."""
        wanted = tuple(contexts)
        return tuple(
            s for s in self.clinical if any(s.covers(c, resource_type, permission) for c in wanted)
        )

    def __str__(self) -> str:
        return " ".join([s.raw for s in self.clinical] + list(self.other))


def parse_scopes(value: object) -> ScopeSet:
    """Scopes from a `scope` claim: a space-separated string or a list of strings."""
    if isinstance(value, str):
        items = value.split()
    elif isinstance(value, list | tuple):
        items = [v for item in value if isinstance(item, str) for v in item.split()]
    else:
        items = []
    clinical, other = [], []
    for item in dict.fromkeys(items):
        parsed = parse_scope(item)
        if parsed is None:
            other.append(item)
        else:
            clinical.append(parsed)
    return ScopeSet(tuple(clinical), tuple(other))


@dataclass(frozen=True)
class Grant:
    """Whether scopes grant an access, and any narrowing they impose.

    `patient_context_only`: only `patient/` scopes grant it (the caller must stay in the
    launch patient's or the citizen's compartment). `filters`: only query-restricted v2
    scopes grant it; a search must match one of these parameter sets.
    """

    ok: bool
    reason: str = ""
    patient_context_only: bool = False
    filters: tuple[tuple[tuple[str, str], ...], ...] = ()
    scopes: tuple[str, ...] = ()


def grant(
    scopes: ScopeSet,
    contexts: tuple[Context, ...],
    resource_type: str,
    permissions: str,
    resource: dict[str, object] | None = None,
) -> Grant:
    """Check every permission letter in `permissions` against the scopes (remembered on
    `scopes` when the answer does not depend on `resource`: see `ScopeSet`)."""
    key = (contexts, resource_type, permissions)
    remembered = scopes.grants.get(key)
    if remembered is not None:
        return remembered
    answer, by_resource = _grant(scopes, contexts, resource_type, permissions, resource)
    if not by_resource and len(scopes.grants) < GRANTS_REMEMBERED:
        scopes.grants[key] = answer
    return answer


def _grant(
    scopes: ScopeSet,
    contexts: tuple[Context, ...],
    resource_type: str,
    permissions: str,
    resource: dict[str, object] | None,
) -> tuple[Grant, bool]:
    """The grant, and whether it depends on the resource (a scope's query was judged on it,
    or would have been without a resource)."""
    patient_only = False
    filters: list[tuple[tuple[str, str], ...]] = []
    used: list[str] = []
    by_resource = False
    for permission in permissions:
        granting = scopes.granting(contexts, resource_type, permission)
        open_scopes = [s for s in granting if not s.query]
        by_resource = by_resource or (bool(granting) and not open_scopes)
        if resource is not None and not open_scopes:
            open_scopes = [s for s in granting if query_matches(s.query, resource)]
        if not granting or (resource is not None and not open_scopes):
            refusal = Grant(False, f"no scope grants '{permission}' on {resource_type}")
            return refusal, by_resource
        if open_scopes:
            patient_only |= all(s.context == "patient" for s in open_scopes)
            used.extend(s.raw for s in open_scopes)
        else:
            filters.extend(s.query for s in granting)
            patient_only |= all(s.context == "patient" for s in granting)
            used.extend(s.raw for s in granting)
    filtered = tuple(dict.fromkeys(filters))
    return Grant(True, "", patient_only, filtered, tuple(dict.fromkeys(used))), by_resource


def query_matches(query: tuple[tuple[str, str], ...], resource: dict[str, object]) -> bool:
    """Whether a resource satisfies a scope's token parameters (`name=system|code` or
    `name=code` against a coded element of the same name); unknown forms never match."""
    return all(_token_matches(resource.get(name), value) for name, value in query)


def _token_matches(element: object, value: str) -> bool:
    system, _, code = value.rpartition("|") if "|" in value else ("", "", value)
    items = element if isinstance(element, list) else [element]
    for item in items:
        if isinstance(item, str) and not system and item == code:
            return True
        codings = item.get("coding") if isinstance(item, dict) else None
        for coding in codings if isinstance(codings, list) else []:
            if (
                isinstance(coding, dict)
                and coding.get("code") == code
                and (not system or coding.get("system") == system)
            ):
                return True
    return False
