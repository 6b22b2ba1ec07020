"""Checking a resource against a shipped profile's differential (the supported subset).

Supported: cardinality (`min`/`max`, per parent), the allowed types of a choice element,
`pattern[x]` (the value must contain the pattern) and `fixed[x]` (must equal it), required
bindings to value sets the terminology module can evaluate (a CodeableConcept needs at
least one coding in the value set, and every coding of a system the platform knows must
be valid; a wrong display is a warning), slices (`slicing.py`: extensions by URL,
value/pattern and resource type/profile discriminators), and an element's type profiles
that are shipped (an extension against its definition, a Bundle entry's resource against
its IPS profile), and inside a document Bundle the `resolve()` slices of references and
the types their `targetProfile`s allow. With `invariants=True` (`$validate`, received
summaries; not ordinary writes) the profile's own invariants are evaluated too (FHIRPath,
`fhir/invariants`). Not supported (ignored): `mustSupport`, bindings weaker than required.
See docs/PATIENT_SUMMARY.md.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from samhandling.fhir.bundle_references import entry_resource
from samhandling.fhir.invariants import evaluate, issue_for
from samhandling.fhir.outcome import Issue
from samhandling.profiles.elements import Located, choice_type, locate
from samhandling.profiles.registry import ElementRule, Profile, shipped_profile
from samhandling.profiles.slicing import Matcher, Resolver, contains, slice_matchers, target_type
from samhandling.terminology import validate_in_value_set, value_set

MAX_DEPTH = 4  # extensions nested in extensions in …: enough for complex extensions


@dataclass(frozen=True)
class Scope:
    """What a check runs in: the resource (FHIRPath's `%resource`), the document Bundle
    references resolve in (None outside one), and whether invariants are evaluated."""

    resource: dict[str, Any]
    resolve: Resolver | None
    invariants: bool


def conformance_issues(
    value: dict[str, Any], profile: Profile, where: str = "", invariants: bool = False
) -> list[Issue]:
    """Every way `value` (a resource, or an extension for extension profiles) breaks
    `profile`; with `invariants`, the profile's FHIRPath invariants included."""
    resolve = _resolver(value)
    return _check(
        Located(value, where or profile.type), profile, 0, Scope(value, resolve, invariants)
    )


def _resolver(value: dict[str, Any]) -> Resolver | None:
    if value.get("resourceType") != "Bundle" or value.get("type") != "document":
        return None
    return lambda reference: entry_resource(value, reference)


def _check(root: Located, profile: Profile, depth: int, scope: Scope) -> list[Issue]:
    matchers = slice_matchers(profile.rules, scope.resolve)
    issues: list[Issue] = []
    for rule in profile.rules:
        if not _checkable(rule.id, matchers):
            continue  # under a slice whose discriminator is not supported
        if rule.id == profile.type:
            issues += _invariant_issues(rule, root, scope)
            continue
        parents, found = locate(root, rule.id, matchers)
        for parent, values in zip(parents, found, strict=True):
            issues += _cardinality(rule, parent, values, profile)
            for item in values:
                issues += _value_issues(rule, item, profile, depth, scope)
    return issues


def _invariant_issues(rule: ElementRule, item: Located, scope: Scope) -> list[Issue]:
    if not scope.invariants:
        return []
    issues = []
    for invariant in rule.constraints:
        outcome = evaluate(invariant, item.value, rule.path, scope.resource, scope.resource)
        if not outcome.held or outcome.problem is not None:
            issues.append(issue_for(invariant, item.where, outcome.problem))
    return issues


def _target_issues(rule: ElementRule, item: Located, profile: Profile, scope: Scope) -> list[Issue]:
    """A reference resolved in the document Bundle must point at a type its targets allow."""
    found = scope.resolve(item.value) if scope.resolve and rule.target_profiles else None
    allowed = {target_type(url) for url in rule.target_profiles}
    if found is None or None in allowed or found.get("resourceType") in allowed:
        return []
    names = " or ".join(sorted(str(a) for a in allowed))
    message = (
        f"{profile.name}: {item.where} points at a {found.get('resourceType')} in the Bundle; "
        f"it must be a {names}"
    )
    return [Issue("error", "structure", message, (item.where,))]


def _checkable(element_id: str, matchers: dict[str, Matcher | None]) -> bool:
    segments = element_id.split(".")
    prefixes = (".".join(segments[: i + 1]) for i in range(1, len(segments)))
    return all(matchers.get(p) is not None for p in prefixes if ":" in p.rsplit(".", 1)[-1])


def _cardinality(
    rule: ElementRule, parent: Located, values: list[Located], profile: Profile
) -> list[Issue]:
    name = rule.id.rsplit(".", 1)[-1]
    where = f"{parent.where}.{name}"
    if rule.min and len(values) < rule.min:
        what = rule.short or name
        message = f"{profile.name}: {what} is required ({name}, at least {rule.min})"
        return [Issue("error", "required", message, (where,))]
    if rule.max not in (None, "*") and len(values) > int(rule.max):
        message = f"{profile.name}: {name} may occur at most {rule.max} time(s)"
        return [Issue("error", "structure", message, (where,))]
    return []


def _value_issues(
    rule: ElementRule, item: Located, profile: Profile, depth: int, scope: Scope
) -> list[Issue]:
    issues = _invariant_issues(rule, item, scope) + _target_issues(rule, item, profile, scope)
    if rule.id.endswith("[x]") and rule.types and not _typed_as(choice_type(item), rule.types):
        allowed = ", ".join(rule.types)
        message = f"{profile.name}: {item.where} must be of type {allowed}"
        issues.append(Issue("error", "structure", message, (item.where,)))
    if rule.pattern is not None and not _matches(rule, item.value):
        kind = "fixed value" if rule.fixed else "pattern"
        message = f"{profile.name}: {item.where} does not match the profile's {kind}"
        issues.append(Issue("error", "value", message, (item.where,)))
    if rule.value_set:
        issues += _binding_issues(rule.value_set, item, profile)
    for url in rule.type_profiles:
        extension_profile = shipped_profile(url)
        if extension_profile is not None and depth < MAX_DEPTH:
            inner = item.value if isinstance(item.value, dict) else {}
            nested = Scope(inner, scope.resolve, scope.invariants)
            is_resource = "resourceType" in inner
            issues += _check(item, extension_profile, depth + 1, nested if is_resource else scope)
    return issues


def _typed_as(found: str, allowed: tuple[str, ...]) -> bool:
    # Keys say `valueCodeableConcept` / `valueDateTime`; types `CodeableConcept`, `dateTime`.
    return any(found[:1].lower() + found[1:] == t[:1].lower() + t[1:] for t in allowed)


def _matches(rule: ElementRule, value: Any) -> bool:
    assert rule.pattern is not None
    expected = rule.pattern[1]
    return value == expected if rule.fixed else contains(value, expected)


def _binding_issues(value_set: str, item: Located, profile: Profile) -> list[Issue]:
    value = item.value
    if isinstance(value, dict) and "coding" in value:
        codings = [(c, f"{item.where}.coding[{i}]") for i, c in enumerate(value["coding"])]
    elif isinstance(value, dict) and "code" in value:
        codings = [(value, item.where)]
    else:
        return []  # codes of type `code` are checked by the structural validator
    # A coding of a system outside the value set is allowed beside one inside it (e.g. a
    # local code next to the national one); a wrong code of an included system never is.
    included = value_set_systems(value_set)
    issues: list[Issue] = []
    accepted = 0
    for coding, where in codings:
        system = coding.get("system", "")
        check = validate_in_value_set(
            value_set, system, coding.get("code", ""), coding.get("display")
        )
        if check.valid:
            accepted += 1
            if check.warning:  # a display that is none of the code's texts: a warning only
                display_at = (f"{where}.display",)
                issues.append(Issue("warning", "code-invalid", check.warning, display_at))
        elif system in included:
            issues.append(Issue("error", "code-invalid", str(check.message), (where,)))
    if not accepted and not any(issue.severity == "error" for issue in issues):
        message = f"{profile.name}: {item.where} has no coding from {value_set}"
        issues.append(Issue("error", "code-invalid", message, (item.where,)))
    return issues


@functools.cache
def value_set_systems(url: str) -> frozenset[str]:
    """The code systems a shipped value set draws on (directly, not through other sets)."""
    definition = value_set(url) or {}
    includes = (definition.get("compose") or {}).get("include", [])
    return frozenset(i["system"] for i in includes if i.get("system"))
