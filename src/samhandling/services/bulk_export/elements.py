"""`_elements` of a bulk export: keep only the named elements (and the mandatory `id`,
`resourceType` and `meta`), and mark the resource SUBSETTED (R4 §3.1.1.5.9)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
_ALWAYS = frozenset({"resourceType", "id", "meta"})


def subset(resource: dict[str, Any], elements: Sequence[str] | None) -> dict[str, Any]:
    """The resource cut down to `elements` (`name` for every type, `Type.name` for one);
    unchanged when `elements` is None or names nothing of this type."""
    if not elements:
        return resource
    rtype = resource.get("resourceType")
    wanted = set()
    for element in elements:
        owner, _, name = element.rpartition(".")
        if owner in ("", rtype):
            wanted.add(name)
    if not wanted:
        return resource
    kept = {k: v for k, v in resource.items() if k in _ALWAYS or k in wanted}
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept
