"""Resolving a reference inside a Bundle (R4 §2.36.4.1), as FHIRPath's `resolve()` does
for a document: by an entry's `fullUrl`, or a relative `Type/id` by the resource's type
and id."""

from __future__ import annotations

from typing import Any


def entry_resource(bundle: dict[str, Any], reference: Any) -> dict[str, Any] | None:
    """The resource of the entry that `reference` (a Reference, or its `reference` string)
    names, or None when nothing in the Bundle has that address."""
    target = reference.get("reference") if isinstance(reference, dict) else reference
    if not isinstance(target, str) or not target or target.startswith("#"):
        return None
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        own = f"{resource.get('resourceType')}/{resource.get('id')}"
        if entry.get("fullUrl") == target or target == own:
            return resource
    return None
