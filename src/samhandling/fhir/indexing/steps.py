"""The steps of compiled fast-path expressions: closures over ``(value, type)`` items.

Each step maps the input collection to the output collection; ``root`` is the resource
being indexed (for ``%resource``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from samhandling.fhir.indexing.references import reference_target_type
from samhandling.fhir.indexing.types import ChildInfo, child_info, is_subtype

__all__ = [
    "Item",
    "Step",
    "dynamic_member_step",
    "extension_step",
    "index_step",
    "member_step_for",
    "oftype_step",
    "primitive_extension_step",
    "resource_step",
    "where_eq_step",
    "where_resolve_step",
]

Item = tuple[Any, str | None]
Step = Callable[[list[Item], dict[str, Any]], list[Item]]


def _children(child: Any, ctype: str | None, out: list[Item]) -> None:
    if isinstance(child, list):
        for each in child:
            if each is not None:
                out.append((each, _resource_type(each) if ctype == "Resource" else ctype))
    elif child is not None:
        out.append((child, _resource_type(child) if ctype == "Resource" else ctype))


def _resource_type(value: Any) -> str | None:
    return value.get("resourceType") if isinstance(value, dict) else None


def _choice_step(choices: tuple[tuple[str, str], ...]) -> Step:
    """A member that is a choice element: each present ``name<Type>`` key, typed."""

    def choice_step(items: list[Item], root: dict[str, Any]) -> list[Item]:
        out: list[Item] = []
        for value, _ in items:
            if isinstance(value, dict):
                for key, key_type in choices:
                    child = value.get(key)
                    if child is not None:
                        _children(child, key_type, out)
        return out

    return choice_step


def member_step_for(info: ChildInfo) -> Step:
    """The step reading member ``info.name`` of dict items."""
    name, ctype = info.name, info.type
    if info.choices:
        return _choice_step(info.choices)

    if ctype == "Resource":  # contained or bundled resources: the type is in the data

        def contained_step(items: list[Item], root: dict[str, Any]) -> list[Item]:
            out: list[Item] = []
            for value, _ in items:
                if isinstance(value, dict):
                    _children(value.get(name), ctype, out)
            return out

        return contained_step

    def member_step(items: list[Item], root: dict[str, Any]) -> list[Item]:
        # the hot path of all extraction: kept free of helper calls
        out: list[Item] = []
        for value, _ in items:
            if value.__class__ is dict:
                child = value.get(name)
                if child is None:
                    continue
                if child.__class__ is list:
                    out.extend([(each, ctype) for each in child if each is not None])
                else:
                    out.append((child, ctype))
        return out

    return member_step


_MEMBER_STEPS: dict[ChildInfo, Step] = {}


def _cached_member_step(info: ChildInfo) -> Step:
    step = _MEMBER_STEPS.get(info)
    if step is None:
        step = _MEMBER_STEPS.setdefault(info, member_step_for(info))
    return step


def dynamic_member_step(name: str) -> Step:
    """A member step for items whose type is only known at run time."""

    def step(items: list[Item], root: dict[str, Any]) -> list[Item]:
        out: list[Item] = []
        for value, vtype in items:
            if isinstance(value, dict):
                info = child_info(vtype, name) if vtype else ChildInfo(name, None)
                out.extend(_cached_member_step(info)([(value, vtype)], root))
        return out

    return step


def primitive_extension_step(name: str, url: str) -> Step:
    """``x.extension(url)`` where ``x`` is a primitive: the extensions live in ``_x``."""

    def step(items: list[Item], root: dict[str, Any]) -> list[Item]:
        out: list[Item] = []
        for value, _ in items:
            if isinstance(value, dict):
                shadow = value.get("_" + name)
                for element in shadow if isinstance(shadow, list) else [shadow]:
                    if isinstance(element, dict):
                        _extensions(element, url, out)
        return out

    return step


def _extensions(value: dict[str, Any], url: str, out: list[Item]) -> None:
    extensions = value.get("extension")
    for extension in extensions if isinstance(extensions, list) else ():
        if isinstance(extension, dict) and extension.get("url") == url:
            out.append((extension, "Extension"))


def extension_step(url: str) -> Step:
    def step(items: list[Item], root: dict[str, Any]) -> list[Item]:
        out: list[Item] = []
        for value, _ in items:
            if isinstance(value, dict):
                _extensions(value, url, out)
        return out

    return step


def oftype_step(type_name: str) -> Step:
    def step(items: list[Item], root: dict[str, Any]) -> list[Item]:
        return [item for item in items if is_subtype(item[1], type_name)]

    return step


def where_resolve_step(type_name: str) -> Step:
    def step(items: list[Item], root: dict[str, Any]) -> list[Item]:
        return [item for item in items if is_subtype(reference_target_type(item[0]), type_name)]

    return step


def where_eq_step(name: str, literal: str) -> Step:
    def step(items: list[Item], root: dict[str, Any]) -> list[Item]:
        out: list[Item] = []
        for item in items:
            value = item[0]
            if isinstance(value, dict):
                child = value.get(name)
                if isinstance(child, list):
                    child = child[0] if len(child) == 1 else None
                if child == literal:
                    out.append(item)
        return out

    return step


def index_step(index: int) -> Step:
    def step(items: list[Item], root: dict[str, Any]) -> list[Item]:
        return items[index : index + 1]

    return step


def resource_step(items: list[Item], root: dict[str, Any]) -> list[Item]:
    return [(root, _resource_type(root))]
