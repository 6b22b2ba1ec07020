"""Which repetitions of a sliced element belong to a slice.

Supported discriminators (R4 §5.1.0.15, ElementDefinition.slicing):

- extensions by URL (the slice's `type.profile`, or its `url` element's fixed value);
- `value` and `pattern` on a path, from the pattern or fixed value the slice's element at
  that path carries (IPS Composition sections by `code`);
- `type` and `profile` on a path that holds a resource (IPS Bundle entries by `resource`):
  the type is the resource's `resourceType`; for the profile, a resource that claims the
  slice's profile in `meta.profile` belongs to the slice, and one that claims none of the
  profiles of the slices of its type belongs to the slice when it is the only slice of that
  type (so a Patient entry is held to Patient-uv-ips). FHIR's open slicing would leave a
  non-conforming unclaimed entry outside every slice; holding it to the only profile it
  could mean is what the HL7 validator reports too. An unclaimed Observation, which several
  IPS slices could take, belongs to none.

- `type` and `profile` on `resolve()` (the IPS Composition's section entries), inside a
  document Bundle only: the Reference is resolved in the Bundle (`fullUrl`, or `Type/id`);
  the type is the resolved resource's, and the profile test is the one above, with the
  slice's `targetProfile`s (an unclaimed AllergyIntolerance is the allergies section's
  `allergyOrIntolerance`, its only slice of that type).

A slice whose discriminator is none of these (`exists`, `resolve()` outside a Bundle) is
not checked: its matcher is None and the checker skips the rules under it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from samhandling.profiles.registry import ElementRule, shipped_profile

Matcher = Callable[[Any], bool]
#: a Reference (or its string) → the resource it names inside the Bundle, or None
Resolver = Callable[[Any], dict[str, Any] | None]
CORE = "http://hl7.org/fhir/StructureDefinition/"


def contains(value: Any, pattern: Any) -> bool:
    """FHIR pattern matching: every element of the pattern is present in the value."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            contains(value.get(key), part) for key, part in pattern.items()
        )
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else []
        return all(any(contains(v, part) for v in items) for part in pattern)
    return bool(value == pattern)


def slice_matchers(
    rules: tuple[ElementRule, ...], resolve: Resolver | None = None
) -> dict[str, Matcher | None]:
    """Every sliced element id (`X.section:sectionAllergies`) → its member test (None:
    not supported; `resolve()` discriminators need `resolve`, a document Bundle's)."""
    by_id = {rule.id: rule for rule in rules}
    found: dict[str, Matcher | None] = {}
    for rule in rules:
        head, _, last = rule.id.rpartition(".")
        name, _, slice_name = last.partition(":")
        if not slice_name or "." in slice_name:
            continue
        if name in ("extension", "modifierExtension"):
            found[rule.id] = _by_url(rule, by_id)
            continue
        base = by_id.get(f"{head}.{name}")
        siblings = [
            r
            for r in rules
            if r.id.startswith(f"{head}.{name}:") and r.id.count(".") == rule.id.count(".")
        ]
        if base is not None and base.slicing and all(p == "resolve()" for _, p in base.slicing):
            found[rule.id] = _by_resolved(rule, base, siblings, resolve)
        else:
            found[rule.id] = _by_discriminators(rule, base, by_id, siblings)
    return found


def target_type(profile_url: str) -> str | None:
    """The resource type a (target) profile constrains: a core type by its URL, a shipped
    profile by its definition; None when neither says."""
    if profile_url.startswith(CORE) and profile_url[len(CORE) :][:1].isupper():
        name = profile_url[len(CORE) :]
        return name if name.isalpha() else None
    shipped = shipped_profile(profile_url)
    return shipped.type if shipped is not None else None


def _by_resolved(
    rule: ElementRule, base: ElementRule, siblings: list[ElementRule], resolve: Resolver | None
) -> Matcher | None:
    """Members of a slice discriminated by `resolve()` (type and/or profile)."""
    types = {target_type(url) for url in rule.target_profiles}
    if resolve is None or not rule.target_profiles or None in types:
        return None
    own = set(rule.target_profiles)
    same_type = [s for s in siblings if {target_type(u) for u in s.target_profiles} & types]
    rivals = {url for s in same_type for url in s.target_profiles}
    alone = len(same_type) == 1
    by_profile = any(kind == "profile" for kind, _ in base.slicing)

    def test(value: Any) -> bool:
        found = resolve(value)
        if found is None or found.get("resourceType") not in types:
            return False
        claimed = set(_claims(found))
        return not by_profile or bool(claimed & own) or (alone and not claimed & rivals)

    return test


def _by_url(rule: ElementRule, by_id: dict[str, ElementRule]) -> Matcher | None:
    url_rule = by_id.get(f"{rule.id}.url")
    if rule.type_profiles:
        url = rule.type_profiles[0]
    elif url_rule is not None and url_rule.pattern and url_rule.pattern[0] == "Uri":
        url = str(url_rule.pattern[1])
    else:
        return None
    return lambda value: isinstance(value, dict) and value.get("url") == url


def _by_discriminators(
    rule: ElementRule,
    base: ElementRule | None,
    by_id: dict[str, ElementRule],
    siblings: list[ElementRule],
) -> Matcher | None:
    if base is None or not base.slicing:
        return None
    tests: list[Matcher] = []
    for kind, path in base.slicing:
        at = by_id.get(f"{rule.id}.{path}")
        if at is None or "(" in path:
            return None
        if kind in ("value", "pattern") and at.pattern is not None:
            tests.append(_pattern_test(path, at.pattern[1]))
        elif kind == "type" and at.types:
            tests.append(_type_test(path, at.types[0]))
        elif kind == "profile" and at.types and at.type_profiles:
            tests.append(_profile_test(path, at, [by_id.get(f"{s.id}.{path}") for s in siblings]))
        else:
            return None
    return lambda value: all(test(value) for test in tests)


def value_at(value: Any, path: str) -> Any:
    """The value at a dotted path of plain element names (the first repetition)."""
    for name in path.split("."):
        value = value.get(name) if isinstance(value, dict) else None
        if isinstance(value, list):
            value = value[0] if value else None
    return value


def _pattern_test(path: str, pattern: Any) -> Matcher:
    def test(value: Any) -> bool:
        found = value.get(path.split(".")[0]) if isinstance(value, dict) else None
        candidates = (
            found if isinstance(found, list) and "." not in path else [value_at(value, path)]
        )
        return any(contains(candidate, pattern) for candidate in candidates)

    return test


def _type_test(path: str, resource_type: str) -> Matcher:
    return lambda value: _resource_type(value_at(value, path)) == resource_type


def _profile_test(path: str, at: ElementRule, siblings: list[ElementRule | None]) -> Matcher:
    own = set(at.type_profiles)
    same_type = [s for s in siblings if s is not None and s.types[:1] == at.types[:1]]
    rivals = {url for s in same_type for url in s.type_profiles}
    alone = len(same_type) == 1

    def test(value: Any) -> bool:
        claimed = set(_claims(value_at(value, path)))
        return bool(claimed & own) or (alone and not claimed & rivals)

    return test


def _resource_type(value: Any) -> str | None:
    return value.get("resourceType") if isinstance(value, dict) else None


def _claims(resource: Any) -> list[str]:
    meta = resource.get("meta") if isinstance(resource, dict) else None
    claimed = meta.get("profile") if isinstance(meta, dict) else None
    return [str(u).partition("|")[0] for u in claimed] if isinstance(claimed, list) else []
