"""The labels the lab-results service reads on a resource (docs/LAB_RESULTS.md).

* **Blocked** — `meta.security` `https://samhandling.no/fhir/CodeSystem/lab-result-access`
  `#blocked`: a clinician withheld the result from the patient (`$block`); written on the
  report, its result Observations and its Specimens, so the pure access rule sees it on each.
  It carries the reason, who and when as extensions. Only `$block` and `$unblock` set or
  lift it (`write_rules.BlockLabelKeptOnWrites`).
* **Unblocked** — `meta.tag` of the same system `#unblocked`: `$unblock`'s reason, who and
  when, kept on the version that lifted the block (no effect on access).
* **Shared for quality assurance** — `meta.security`
  `http://terminology.hl7.org/CodeSystem/v3-ActReason#HQUALIMP` (purpose of use: health
  quality improvement): never returned for care.
"""

from __future__ import annotations

from typing import Any

ACCESS_SYSTEM = "https://samhandling.no/fhir/CodeSystem/lab-result-access"
EXTENSION_BASE = "https://samhandling.no/fhir/StructureDefinition/lab-result-"
BLOCKED = "blocked"
UNBLOCKED = "unblocked"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
QUALITY_ASSURANCE = "HQUALIMP"

#: the types a block is written on
BLOCKABLE_TYPES = frozenset({"DiagnosticReport", "Observation", "Specimen"})


def _meta_codings(resource: dict[str, Any] | None, element: str) -> list[dict[str, Any]]:
    meta = resource.get("meta") if resource else None
    found = meta.get(element) if isinstance(meta, dict) else None
    if not found:  # most resources: no labels (asked of every result written)
        return []
    return [c for c in found if isinstance(c, dict)]


def block_codings(resource: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The resource's block labels (normally none or one)."""
    if not resource:
        return []
    return [
        c
        for c in _meta_codings(resource, "security")
        if c.get("system") == ACCESS_SYSTEM and c.get("code") == BLOCKED
    ]


def is_blocked(resource: dict[str, Any] | None) -> bool:
    """Whether a clinician blocked the resource for the patient."""
    return bool(block_codings(resource))


def is_quality_assurance(resource: dict[str, Any] | None) -> bool:
    """Whether the resource was shared for quality assurance (not for care)."""
    return any(
        c.get("system") == ACT_REASON and c.get("code") == QUALITY_ASSURANCE
        for c in _meta_codings(resource, "security")
    )


def access_coding(code: str, reason: str, who: str | None, when: str) -> dict[str, Any]:
    """A block (or unblock) coding with its reason, the clinician's HPR number and time."""
    extension: list[dict[str, Any]] = [
        {"url": EXTENSION_BASE + "reason", "valueString": reason},
        {"url": EXTENSION_BASE + "time", "valueDateTime": when},
    ]
    if who:
        hpr = {"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": who}
        extension.append({"url": EXTENSION_BASE + "by", "valueIdentifier": hpr})
    display = "Tilbakeholdt for pasienten" if code == BLOCKED else "Frigitt for pasienten"
    coding = {"system": ACCESS_SYSTEM, "code": code, "display": display}
    return {"extension": extension, **coding}


def with_block_labels(resource: dict[str, Any], blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """`resource` with its block labels (in `meta.security`) replaced by `blocks`."""
    return _with_meta(resource, "security", blocks)


def with_unblock_tag(resource: dict[str, Any], tag: dict[str, Any] | None) -> dict[str, Any]:
    """`resource` with its unblock tag (in `meta.tag`) replaced by `tag` (None: removed)."""
    return _with_meta(resource, "tag", [tag] if tag else [])


def _with_meta(
    resource: dict[str, Any], element: str, ours: list[dict[str, Any]]
) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    kept = [c for c in _meta_codings(resource, element) if c.get("system") != ACCESS_SYSTEM]
    if kept or ours:
        meta[element] = kept + ours
    else:
        meta.pop(element, None)
    return {**resource, "meta": meta}


def reason_of(coding: dict[str, Any]) -> str | None:
    """The reason on a block (or unblock) coding."""
    for extension in coding.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == EXTENSION_BASE + "reason":
            value = extension.get("valueString")
            return value if isinstance(value, str) else None
    return None
