"""The five kinds of critical information and how each is recognised.

An entry is critical information when it claims one of the shipped Kj profiles in
`meta.profile` (docs/CRITICAL_INFORMATION.md). Which elements say *what* an entry is
(category and code) differs per kind; those cannot change once registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from samhandling.fhir.entry_status import is_entered_in_error
from samhandling.profiles import PROFILE_BASE, claimed_profiles


@dataclass(frozen=True)
class Kind:
    """One kind of critical information."""

    key: str  # the group name in the summary
    title: str
    resource_type: str
    profile: str
    identity: tuple[str, ...]  # elements that say what the entry is: never changed
    status_parameter: str  # the search parameter holding entered-in-error


KINDS: tuple[Kind, ...] = (
    Kind(
        "allergy",
        "Allergier og legemiddelreaksjoner",
        "AllergyIntolerance",
        PROFILE_BASE + "kj-allergy-intolerance",
        ("category", "code"),
        "verification-status",
    ),
    Kind(
        "critical-condition",
        "Kritiske medisinske tilstander",
        "Condition",
        PROFILE_BASE + "kj-condition-critical",
        ("category", "code"),
        "verification-status",
    ),
    Kind(
        "ongoing-treatment",
        "Pågående behandling",
        "Procedure",
        PROFILE_BASE + "kj-procedure",
        ("category", "code"),
        "status",
    ),
    Kind(
        "implant",
        "Implantater",
        "DeviceUseStatement",
        PROFILE_BASE + "kj-device-use-statement",
        ("contained", "device"),
        "status",
    ),
    Kind(
        "procedural-change",
        "Andre prosedyreendringer",
        "Flag",
        PROFILE_BASE + "kj-flag",
        ("category", "code"),
        "status",
    ),
)
KIND_BY_TYPE = {kind.resource_type: kind for kind in KINDS}
KIND_BY_PROFILE = {kind.profile: kind for kind in KINDS}


def kind_of(resource: dict[str, Any] | None) -> Kind | None:
    """The kind of critical information `resource` is, or None when it is none."""
    if not resource:
        return None
    for url in claimed_profiles(resource):
        kind = KIND_BY_PROFILE.get(url)
        if kind is not None and kind.resource_type == resource.get("resourceType"):
            return kind
    return None


def identity_of(kind: Kind, resource: dict[str, Any]) -> dict[str, Any]:
    """What the entry is (category and code, or the implanted device's type)."""
    if kind.resource_type == "DeviceUseStatement":
        devices = [c for c in resource.get("contained", []) if c.get("resourceType") == "Device"]
        return {"device.type": [d.get("type") for d in devices]}
    return {name: resource.get(name) for name in kind.identity}


def is_drug_reaction(resource: dict[str, Any]) -> bool:
    """An AllergyIntolerance of category medication (the national drug-reaction source)."""
    return "medication" in (resource.get("category") or [])


__all__ = ["KINDS", "Kind", "identity_of", "is_drug_reaction", "is_entered_in_error", "kind_of"]
