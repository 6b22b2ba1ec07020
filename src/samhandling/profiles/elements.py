"""Finding the values a differential element (by its `id`) points at in a resource.

Element ids are dotted paths whose segments may name a slice (`extension:source`,
`section:sectionAllergies`); which repetitions belong to a slice is `slicing.py`'s answer.
A `[x]` segment collects whichever `value…`-style key is present.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from samhandling.profiles.slicing import Matcher


@dataclass(frozen=True)
class Located:
    """A value found in a resource and the FHIRPath-like location it was found at."""

    value: Any
    where: str


def children(
    parent: Located, segment: str, element_id: str, matchers: Mapping[str, Matcher | None]
) -> list[Located]:
    """The values of one segment below `parent` (a list element per repetition)."""
    if not isinstance(parent.value, dict):
        return []
    name, _, slice_name = segment.partition(":")
    if name.endswith("[x]"):
        return _choice(parent, name.removesuffix("[x]"))
    raw = parent.value.get(name)
    if raw is None:  # a primitive present only with its extensions (`_birthDate`)
        raw = parent.value.get(f"_{name}")
    if raw is None:
        found = []
    elif isinstance(raw, list):  # a repeating element: each with its index
        found = [Located(v, f"{parent.where}.{name}[{i}]") for i, v in enumerate(raw)]
    elif isinstance(raw, dict) and isinstance(raw.get("resourceType"), str):
        # a resource in an element (Bundle.entry.resource): named as the validator does
        found = [Located(raw, f"{parent.where}.{name}.ofType({raw['resourceType']})")]
    else:
        found = [Located(raw, f"{parent.where}.{name}")]
    return _sliced(found, slice_name, element_id, matchers)


def _sliced(
    found: list[Located], slice_name: str, element_id: str, matchers: Mapping[str, Matcher | None]
) -> list[Located]:
    if slice_name:
        member = matchers.get(element_id)
        found = [f for f in found if member is not None and member(f.value)]
    return found


def _choice(parent: Located, stem: str) -> list[Located]:
    found: dict[str, Located] = {}
    for key, value in parent.value.items():
        name = key.removeprefix("_")  # `_timingDateTime`: present with its extensions only
        is_choice = name.startswith(stem) and name[len(stem) : len(stem) + 1].isupper()
        if is_choice and (name not in found or not key.startswith("_")):
            found[name] = Located(value, f"{parent.where}.{name}")
    return list(found.values())


def choice_type(located: Located) -> str:
    """The type suffix of a choice value's key (`….valueDateTime` → `dateTime`)."""
    key = located.where.rsplit(".", 1)[-1]
    for index, char in enumerate(key):
        if char.isupper():
            return key[index].lower() + key[index + 1 :]
    return key


def locate(
    root: Located, element_id: str, matchers: Mapping[str, Matcher | None]
) -> tuple[list[Located], list[list[Located]]]:
    """The parents of the element's last segment and, per parent, the values found."""
    segments = element_id.split(".")
    parents = [root]
    prefix = segments[0]
    for segment in segments[1:-1]:
        prefix = f"{prefix}.{segment}"
        parents = [c for p in parents for c in children(p, segment, prefix, matchers)]
    if len(segments) == 1:
        return [], []
    return parents, [children(p, segments[-1], element_id, matchers) for p in parents]
