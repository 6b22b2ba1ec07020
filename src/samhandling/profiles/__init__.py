"""Profiles the platform ships (StructureDefinitions) and checking resources against them.

    from samhandling.profiles import profile_issues
    issues = profile_issues(resource)  # no errors when it meets every shipped profile it claims

A resource is checked against each profile in `meta.profile` that the platform ships.
Other profiles (e.g. US Core claimed by Synthea data) are claims the platform cannot check
and are left alone; an unknown profile in the platform's own namespace is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from samhandling.fhir.outcome import Issue
from samhandling.profiles.conformance import conformance_issues
from samhandling.profiles.registry import (
    PROFILE_BASE,
    Profile,
    shipped_profile,
    shipped_profiles,
)

__all__ = [
    "PROFILE_BASE",
    "Profile",
    "claimed_profiles",
    "profile_issues",
    "shipped_profile",
    "shipped_profiles",
]


def claimed_profiles(resource: dict[str, Any]) -> list[str]:
    """The canonical URLs in `meta.profile` (without `|version`)."""
    meta = resource.get("meta")
    claimed = meta.get("profile") if isinstance(meta, dict) else None
    if not isinstance(claimed, list):
        return []
    return [url.partition("|")[0] for url in claimed if isinstance(url, str)]


def profile_issues(
    resource: dict[str, Any], also: Sequence[str] = (), invariants: bool = False
) -> list[Issue]:
    """Errors (and warnings, e.g. a wrong display) of `resource` against every shipped
    profile it claims in `meta.profile`, and against the profiles `also` names (which must
    be shipped: the caller checks); with `invariants`, the profiles' FHIRPath invariants
    too (`$validate`; too slow for every write)."""
    issues: list[Issue] = []
    wanted = [url.partition("|")[0] for url in also]
    for url in dict.fromkeys([*claimed_profiles(resource), *wanted]):
        profile = shipped_profile(url)
        if profile is None:
            if url.startswith(PROFILE_BASE):
                message = f"Unknown profile {url}: the platform ships no such StructureDefinition"
                issues.append(Issue("error", "not-supported", message, ("meta.profile",)))
            continue
        if profile.type != resource.get("resourceType"):
            message = f"Profile {url} constrains {profile.type}, not {resource.get('resourceType')}"
            issues.append(Issue("error", "invalid", message, ("meta.profile",)))
            continue
        issues += conformance_issues(resource, profile, invariants=invariants)
    return issues
