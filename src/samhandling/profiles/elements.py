"""Finding the values a differential element (by its `id`) points at in a resource.

Element ids are dotted paths whose segments may name a slice (`extension:source`). Only
extension slices are supported: they are told apart by their URL, taken from the slice's
`type.profile` (a separate extension definition) or its `url` element's fixed value (a part
of a complex extension). A `[x]` segment collects whichever `value…`-style key is present.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from samhandling.profiles.registry import ElementRule


@dataclass(frozen=True)
class Located:
    """A value found in a resource and the FHIRPath-like location it was found at."""

    value: Any
    where: str


def slice_urls(rules: tuple[ElementRule, ...]) -> dict[str, str]:
    """Extension URL of every sliced element id (`X.extension:name` → URL)."""
    urls: dict[str, str] = {}
    for rule in rules:
        last = rule.id.rsplit(".", 1)[-1]
        if last.startswith(("extension:", "modifierExtension:")) and rule.type_profiles:
            urls[rule.id] = rule.type_profiles[0]
        if rule.id.endswith(".url") and rule.pattern and rule.pattern[0] == "Uri":
            urls.setdefault(rule.id.removesuffix(".url"), rule.pattern[1])
    return urls


def children(
    parent: Located, segment: str, element_id: str, urls: Mapping[str, str]
) -> list[Located]:
    """The values of one segment below `parent` (a list element per repetition)."""
    if not isinstance(parent.value, dict):
        return []
    name, _, slice_name = segment.partition(":")
    if name.endswith("[x]"):
        return _choice(parent, name.removesuffix("[x]"))
    raw = parent.value.get(name)
    items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    found = [Located(v, f"{parent.where}.{name}[{i}]") for i, v in enumerate(items)]
    if slice_name:
        url = urls.get(element_id)
        found = [f for f in found if isinstance(f.value, dict) and f.value.get("url") == url]
    return found


def _choice(parent: Located, stem: str) -> list[Located]:
    return [
        Located(value, f"{parent.where}.{key}")
        for key, value in parent.value.items()
        if key.startswith(stem) and key[len(stem) : len(stem) + 1].isupper()
    ]


def choice_type(located: Located) -> str:
    """The type suffix of a choice value's key (`….valueDateTime` → `dateTime`)."""
    key = located.where.rsplit(".", 1)[-1]
    for index, char in enumerate(key):
        if char.isupper():
            return key[index].lower() + key[index + 1 :]
    return key


def locate(
    root: Located, element_id: str, urls: Mapping[str, str]
) -> tuple[list[Located], list[list[Located]]]:
    """The parents of the element's last segment and, per parent, the values found."""
    segments = element_id.split(".")
    parents = [root]
    prefix = segments[0]
    for segment in segments[1:-1]:
        prefix = f"{prefix}.{segment}"
        parents = [c for p in parents for c in children(p, segment, prefix, urls)]
    if len(segments) == 1:
        return [], []
    return parents, [children(p, segments[-1], element_id, urls) for p in parents]
