"""FHIRPath Patch: finding the place in the JSON that a path names, and changing it there.

See `samhandling.fhir.patch.fhirpath` for how a path is mapped back to the JSON, and how
primitive extensions move with their values.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from fhirpathpy import apply_parsed_path

from samhandling.fhir.patch.fhirpath_elements import (
    Element,
    Repeats,
    Unapplicable,
    element_of,
    is_empty,
)
from samhandling.fhir.r4_model import MODEL


class Run:
    """One operation's view of the document; the parent map is built only when needed."""

    def __init__(self, document: dict[str, Any], repeats: Repeats | None) -> None:
        self.document = document
        self.repeats = repeats

    @cached_property
    def tree(self) -> dict[int, tuple[Any, Any]]:
        """id(dict or list) → (container, key or index)."""
        return _parents(self.document)


@dataclass(frozen=True)
class Slot:
    """An element's place in its owner: the whole value, or one item of its list."""

    owner: dict[str, Any]
    element: Element
    index: int | None  # position in the owner's list, None for a single value


def evaluate(document: dict[str, Any], ast: dict[str, Any]) -> list[Any]:
    """fhirpathpy result nodes (minus the null entries it yields for `_x` arrays)."""
    try:
        variables = {"resource": document, "rootResource": document}
        found = apply_parsed_path(
            document, {"children": [ast]}, variables, MODEL, {"returnRawData": True}
        )
    except Exception as exc:  # fhirpathpy raises plain exceptions for evaluation errors
        raise Unapplicable(f"evaluating the path failed: {exc}") from exc
    return [node for node in found if node_data(node) is not None]


def node_data(node: Any) -> Any:
    return getattr(node, "data", node)


def _parents(document: dict[str, Any]) -> dict[int, tuple[Any, Any]]:
    """id(object) → (container, key or index) for every dict and list inside `document`."""
    tree: dict[int, tuple[Any, Any]] = {}
    stack: list[Any] = [document]
    while stack:
        current = stack.pop()
        items = current.items() if isinstance(current, dict) else enumerate(current)
        for key, child in items:
            if isinstance(child, dict | list):
                tree[id(child)] = (current, key)
                stack.append(child)
    return tree


def _split(document: dict[str, Any], ast: dict[str, Any]) -> tuple[Any, str, int | None] | None:
    """(parent AST or None for the resource, element name, literal index) of a path that ends
    in an element name, e.g. `Patient.name[0].given[1]`; None for any other path."""
    node, index = ast, None
    if node.get("type") == "IndexerExpression":
        index = _int_literal(node["children"][1])
        if index is None:
            return None
        node = node["children"][0]
    kids = node.get("children", [])
    if node.get("type") == "InvocationExpression" and kids[1].get("type") == "MemberInvocation":
        return kids[0], _identifier(kids[1]), index
    if node.get("type") == "TermExpression" and kids[0].get("type") == "InvocationTerm":
        member = kids[0]["children"][0]
        name = _identifier(member) if member.get("type") == "MemberInvocation" else None
        if name is not None and name != document.get("resourceType"):
            return None, name, index
    return None


def _int_literal(node: dict[str, Any]) -> int | None:
    while node.get("type") != "NumberLiteral" and len(node.get("children", [])) == 1:
        node = node["children"][0]
    text = (node.get("terminalNodeText") or [""])[0]
    return (
        int(text)
        if node.get("type") == "NumberLiteral" and (text.isascii() and text.isdigit())
        else None
    )


def _identifier(member: dict[str, Any]) -> str:
    text: str = member["children"][0]["terminalNodeText"][0]
    return text.strip("`")


def _owners(run: Run, parent: Any) -> list[tuple[dict[str, Any], str | None]] | None:
    """The elements a parent expression selects, with their types; None if any is primitive."""
    if parent is None:
        return [(run.document, run.document.get("resourceType"))]
    nodes = evaluate(run.document, parent)
    if not all(isinstance(node_data(node), dict) for node in nodes):
        return None
    for node in nodes:
        ensure_inside(run, node_data(node))
    return [(node_data(node), getattr(node, "path", None)) for node in nodes]


def ensure_inside(run: Run, found: Any) -> None:
    if found is not run.document and id(found) not in run.tree:
        raise Unapplicable("the path selects content outside the resource being patched")


def find_slots(run: Run, ast: dict[str, Any]) -> list[Slot]:
    """The places the path `ast` selects (see `samhandling.fhir.patch.fhirpath`)."""
    split = _split(run.document, ast)
    if split is not None:
        parent, name, index = split
        owners = _owners(run, parent)
        if owners is not None:
            candidates = [slot for owner in owners for slot in _slots_in(*owner, name)]
            return candidates if index is None else candidates[index : index + 1]
    return _identity_slots(run, evaluate(run.document, ast))


def _slots_in(owner: dict[str, Any], owner_type: str | None, name: str) -> list[Slot]:
    element = element_of(owner_type, name, None, owner)
    value = owner.get(element.key, owner.get(f"_{element.key}"))
    if value is None:
        return []
    if isinstance(value, list):
        return [Slot(owner, element, i) for i in range(len(value))]
    return [Slot(owner, element, None)]


def _identity_slots(run: Run, nodes: list[Any]) -> list[Slot]:
    found: dict[tuple[int, str, int | None], Slot] = {}
    for node in nodes:
        data = node_data(node)
        if not isinstance(data, dict):
            raise Unapplicable(
                "the path selects a primitive value that cannot be located in the resource: "
                "a path ending in a function must select complex elements"
            )
        if data is run.document:
            raise Unapplicable("the path selects the resource itself")
        ensure_inside(run, data)
        owner, key = run.tree[id(data)]
        index = None
        if isinstance(owner, list):
            (owner, key), index = run.tree[id(owner)], key
        key = key.removeprefix("_")  # a primitive's extension object stands for the primitive
        element = Element(key, key, getattr(node, "path", None), None)
        found[(id(owner), key, index)] = Slot(owner, element, index)
    return list(found.values())


def find_collection(
    run: Run, ast: dict[str, Any], path: str, suffix: str | None
) -> tuple[dict[str, Any], Element]:
    """The element holding the list that `path` (parsed: `ast`) names, and that list's
    element."""
    split = _split(run.document, ast)
    if split is None or split[2] is not None:
        raise Unapplicable("the path must end in the name of a list element (Patient.identifier)")
    owners = _owners(run, split[0])
    if not owners:
        raise Unapplicable(f"No content found at {path}")
    if len(owners) > 1:
        raise Unapplicable(f"{path} is found in {len(owners)} elements; it must be one")
    owner, owner_type = owners[0]
    return owner, element_of(owner_type, split[1], suffix, owner)


# ------------------------------------------------------------------------ changing it


def list_insert(owner: dict[str, Any], key: str, position: int, value: Any, ext: Any) -> None:
    extras = owner.get(f"_{key}")
    items = owner.setdefault(key, [None] * len(extras) if isinstance(extras, list) else [])
    if extras is None and ext is not None:
        extras = [None] * len(items)
    items.insert(position, value)
    if isinstance(extras, list):
        extras.insert(position, ext)
        _store_extras(owner, key, extras)


def _store_extras(owner: dict[str, Any], key: str, extras: list[Any]) -> None:
    if is_empty(extras):
        owner.pop(f"_{key}", None)
    else:
        owner[f"_{key}"] = extras


def remove_slot(slot: Slot) -> None:
    owner, key = slot.owner, slot.element.key
    for name in (key, f"_{key}"):
        if slot.index is None:
            owner.pop(name, None)
            continue
        items = owner.get(name)
        if isinstance(items, list) and slot.index < len(items):
            del items[slot.index]
        if name in owner and is_empty(owner[name]):
            del owner[name]


def prune(run: Run, emptied: Any) -> None:
    """Remove `emptied` and each ancestor that this leaves empty."""
    while emptied is not run.document and id(emptied) in run.tree and is_empty(emptied):
        container, position = run.tree[id(emptied)]
        if isinstance(container, list) and str(run.tree[id(container)][1]).startswith("_"):
            container[position] = None  # keep a parallel primitive-extension array aligned
        else:
            del container[position]
        emptied = container


def set_slot(slot: Slot, key: str, value: Any, ext: Any) -> None:
    """Put `value` (and its primitive extension `ext`) in the slot, under `key`."""
    owner, old = slot.owner, slot.element.key
    if slot.index is None:
        if key != old:  # a choice element changes type
            owner.pop(old, None)
            owner.pop(f"_{old}", None)
        owner[key] = value
        if ext is None:
            owner.pop(f"_{key}", None)
        else:
            owner[f"_{key}"] = ext
        return
    extras = owner.get(f"_{key}")
    items = owner.setdefault(key, [None] * len(extras) if isinstance(extras, list) else [])
    items[slot.index] = value
    if extras is None and ext is not None:
        extras = [None] * len(items)
    if isinstance(extras, list):
        extras[slot.index] = ext
        _store_extras(owner, key, extras)
