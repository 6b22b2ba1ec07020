"""FHIRPath Patch operations (https://hl7.org/fhir/R4/fhirpatch.html), applied to FHIR JSON.

The engine behind `samhandling.fhir.patch.apply_fhirpath_patch`, which reads and checks the
Parameters document, builds the `Operation`s and adds the resourceType/id guard. Paths are
evaluated with fhirpathpy (R4 model) on a working copy.

How a path is mapped back to a place in the JSON:
* `add` evaluates `path`; it must select exactly one complex element, which gets `name`.
* `insert`/`move` need the list itself, so `path` must end in an element name
  (`Patient.identifier`); the part before it must select exactly one element.
* `delete`/`replace`: a path ending in an element name, optionally indexed
  (`Patient.name[0].given[1]`), is resolved through its parent, so primitives work too.
  A path ending in a function (`Patient.identifier.where(use='old')`) must select complex
  elements, which are then found by object identity.

Primitive extensions (`_birthDate`, parallel `_given` arrays) move with their values, and a
`_value[x]` next to a patch value becomes the element's primitive extension. Deleting the
last content of an element removes the emptied element too (FHIR JSON has no empty objects).

Repeating or not: FHIR JSON needs the cardinality when an element is first added, which
fhirpathpy's model does not carry. Pass `repeats` (see `repeats_from_definitions`); without
it an absent element is added as a single value unless it is `extension`,
`modifierExtension` or `contained`, and an existing JSON array is appended to.
Value types are checked against the model: complex vs primitive, the datatype of complex
values, and the allowed types of choice elements; primitive types are not told apart. An
added element (or a part of a value) must be an element of its owner's type when the model
knows that type. `%resource` and `%rootResource` are the resource being patched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from fhirpathpy import apply_parsed_path
from fhirpathpy.models import models

from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.patch_json import clone_json

Repeats = Callable[[str], bool | None]
"""Element path (`Patient.contact`, `HumanName.given`) → repeats?; None when unknown."""
AfterEach = Callable[[int, dict[str, Any]], None]

_MODEL: dict[str, Any] = models["r4"]
_PATH2TYPE: dict[str, str] = _MODEL["path2Type"]
_CHOICES: dict[str, list[str]] = _MODEL["choiceTypePaths"]
_ELSEWHERE: dict[str, str] = _MODEL["pathsDefinedElsewhere"]
_PARENTS: dict[str, str] = _MODEL["type2Parent"]
_BACKBONES = frozenset(path.rsplit(".", 1)[0] for path in _PATH2TYPE if "." in path)
_ALWAYS_REPEATING = frozenset({"extension", "modifierExtension", "contained"})
_PRIMITIVES = frozenset(
    {
        *("base64Binary", "boolean", "canonical", "code", "date", "dateTime", "decimal", "id"),
        *("instant", "integer", "markdown", "oid", "positiveInt", "string", "time"),
        *("unsignedInt", "uri", "url", "uuid", "xhtml"),
    }
)


@dataclass(frozen=True)
class Operation:
    """One checked `operation` parameter; `ast` is fhirpathpy's parse of `path`."""

    index: int
    type: str  # add | insert | delete | replace | move
    path: str
    ast: dict[str, Any]
    name: str | None = None
    value: Mapping[str, Any] | None = None  # the `value` part: value[x], resource or parts
    position: int | None = None  # the `index` part of insert
    source: int | None = None
    destination: int | None = None


def value_entry(part: Mapping[str, Any]) -> tuple[str, Any] | None:
    """(type suffix, JSON value) of a part's `value[x]`; ValueError if it has several."""
    keys = [k for k in part if k.startswith("value") and k[5:6].isupper()]
    if len(keys) > 1:
        raise ValueError(f"part '{part.get('name')}' has several values: {', '.join(keys)}")
    return (keys[0][5:], part[keys[0]]) if keys else None


def apply(
    resource: dict[str, Any],
    operations: Iterable[Operation],
    *,
    repeats: Repeats | None = None,
    after_each: AfterEach | None = None,
) -> dict[str, Any]:
    """Apply checked operations to a copy of `resource` and return the copy (422 on failure)."""
    document: dict[str, Any] = clone_json(resource)
    for op in operations:
        run = _Run(document, repeats)
        try:
            _OPERATIONS[op.type](run, op)
        except _Unapplicable as exc:
            message = f"FHIRPath Patch operation {op.index} ({op.type} at {op.path}): {exc}"
            where = f"Parameters.parameter[{op.index}]"
            raise FhirError(422, error("processing", message, where)) from None
        if after_each is not None:
            after_each(op.index, document)
    return document


class _Unapplicable(Exception):
    """A well-formed operation cannot be applied to this resource (→ 422)."""


class _Run:
    """One operation's view of the document; the parent map is built only when needed."""

    def __init__(self, document: dict[str, Any], repeats: Repeats | None) -> None:
        self.document = document
        self.repeats = repeats

    @cached_property
    def tree(self) -> dict[int, tuple[Any, Any]]:
        """id(dict or list) → (container, key or index)."""
        return _parents(self.document)


@dataclass(frozen=True)
class _Element:
    key: str  # the JSON property name
    base: str  # the element name without a choice-type suffix
    type: str | None  # datatype, resource type, backbone element path, or None if unknown
    path: str | None  # element path for cardinality, e.g. "Patient.contact"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Slot:
    owner: dict[str, Any]
    element: _Element
    index: int | None  # position in the owner's list, None for a single value


# --------------------------------------------------------------- elements, types, values


def _model_path(owner_type: str | None, name: str) -> str | None:
    """The fhirpathpy model path of element `name` of `owner_type`, following base types."""
    current = owner_type
    while current:
        path = f"{current}.{name}"
        path = _ELSEWHERE.get(path, path)
        if path in _PATH2TYPE or path in _CHOICES or path in _BACKBONES:
            return path
        current = _PARENTS.get(current) if "." not in current else None
    return None


def _check_name(owner_type: str | None, name: str) -> None:
    """Refuse a new element that a type known to the model does not have."""
    if owner_type is None or not (owner_type in _PARENTS or owner_type in _BACKBONES):
        return
    if _model_path(owner_type, name) is not None:
        return
    for cut in range(len(name) - 1, 0, -1):  # a choice element named with its type
        base = _model_path(owner_type, name[:cut]) if name[cut].isupper() else None
        if base is not None and name[cut:] in _CHOICES.get(base, ()):
            return
    raise _Unapplicable(f"{owner_type} has no element '{name}'")


def _element(owner_type: str | None, name: str, suffix: str | None, owner: Any) -> _Element:
    """Element `name` of an element of type `owner_type`; `suffix` picks a choice type,
    else the type present in `owner` does."""
    path = f"{owner_type}.{name}" if owner_type else None
    model_path = _model_path(owner_type, name)
    choices = tuple(_CHOICES.get(model_path, ())) if model_path else ()
    if choices:
        if suffix is None and isinstance(owner, dict):
            present = (s for s in choices if f"{name}{s}" in owner or f"_{name}{s}" in owner)
            suffix = next(present, None)
        kind = _fhir_type(suffix) if suffix else None
        return _Element(name + (suffix or ""), name, kind, path, choices)
    declared = _PATH2TYPE.get(model_path) if model_path else None
    if declared is None and model_path in _BACKBONES:
        declared = model_path
    return _Element(name, name, declared, path)


def _fhir_type(suffix: str) -> str:
    lowered = suffix[:1].lower() + suffix[1:]
    return lowered if lowered in _PRIMITIVES else suffix


def _is_primitive(kind: str) -> bool:
    return kind.startswith("System.") or kind[:1].islower()


def _is_a(kind: str | None, base: str) -> bool:
    while kind:
        if kind == base:
            return True
        kind = _PARENTS.get(kind)
    return False


def _is_repeating(element: _Element, existing: Any, repeats: Repeats | None) -> bool:
    if element.base in _ALWAYS_REPEATING:
        return True
    known = repeats(element.path) if repeats and element.path else None
    return known if known is not None else isinstance(existing, list)


def _check_type(element: _Element, value: Any, suffix: str | None) -> None:
    if element.choices and suffix is not None and suffix not in element.choices:
        raise _Unapplicable(f"{element.base}[x] does not allow type {suffix}")
    expected = element.type
    if expected is None:
        return
    if _is_a(expected, "Resource"):
        if not (isinstance(value, dict) and "resourceType" in value):
            raise _Unapplicable(f"{element.key} needs a resource")
    elif _is_primitive(expected):
        if isinstance(value, dict | list):
            raise _Unapplicable(f"{element.key} is a primitive ({expected}), not a complex value")
    elif not isinstance(value, dict):
        raise _Unapplicable(f"{element.key} has type {expected}, not a primitive value")
    elif suffix and "." not in expected:
        given = _fhir_type(suffix)
        if not (_is_a(given, expected) or _is_a(expected, given)):
            raise _Unapplicable(f"{element.key} has type {expected}, not {given}")


def _build(part: Mapping[str, Any], element: _Element, repeats: Repeats | None) -> tuple[Any, Any]:
    """(JSON value, primitive extension object or None) of a value part for `element`."""
    entry = value_entry(part)
    if entry is not None:
        suffix, value = entry
        _check_type(element, value, suffix)
        return clone_json(value), clone_json(part.get(f"_value{suffix}"))
    if "resource" in part:
        _check_type(element, part["resource"], None)
        return clone_json(part["resource"]), None
    if element.type and _is_primitive(element.type):
        raise _Unapplicable(f"{element.key} is a primitive ({element.type}), not given as parts")
    return _build_parts(part["part"], element.type, repeats), None


def _build_parts(parts: list[Any], kind: str | None, repeats: Repeats | None) -> dict[str, Any]:
    """The element of type `kind` that `parts` describe (for anonymous and complex types)."""
    grouped: dict[str, list[tuple[Any, Any, _Element]]] = {}
    for sub in parts:
        entry = value_entry(sub)
        _check_name(kind, sub["name"])
        child = _element(kind, sub["name"], entry[0] if entry else None, None)
        grouped.setdefault(child.key, []).append((*_build(sub, child, repeats), child))
    built: dict[str, Any] = {}
    for key, items in grouped.items():
        values, extensions = [v for v, _, _ in items], [x for _, x, _ in items]
        single = len(items) == 1 and not _is_repeating(items[0][2], None, repeats)
        built[key] = values[0] if single else values
        if not _is_empty(extensions):
            built[f"_{key}"] = extensions[0] if single else extensions
    return built


def _suffix_of(part: Mapping[str, Any] | None) -> str | None:
    entry = value_entry(part) if part is not None else None
    return entry[0] if entry else None


# ------------------------------------------------------------------- finding the target


def _evaluate(document: dict[str, Any], ast: dict[str, Any]) -> list[Any]:
    """fhirpathpy result nodes (minus the null entries it yields for `_x` arrays)."""
    try:
        variables = {"resource": document, "rootResource": document}
        found = apply_parsed_path(
            document, {"children": [ast]}, variables, _MODEL, {"returnRawData": True}
        )
    except Exception as exc:  # fhirpathpy raises plain exceptions for evaluation errors
        raise _Unapplicable(f"evaluating the path failed: {exc}") from exc
    return [node for node in found if _data(node) is not None]


def _data(node: Any) -> Any:
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


def _owners(run: _Run, parent: Any) -> list[tuple[dict[str, Any], str | None]] | None:
    """The elements a parent expression selects, with their types; None if any is primitive."""
    if parent is None:
        return [(run.document, run.document.get("resourceType"))]
    nodes = _evaluate(run.document, parent)
    if not all(isinstance(_data(node), dict) for node in nodes):
        return None
    for node in nodes:
        _ensure_inside(run, _data(node))
    return [(_data(node), getattr(node, "path", None)) for node in nodes]


def _ensure_inside(run: _Run, found: Any) -> None:
    if found is not run.document and id(found) not in run.tree:
        raise _Unapplicable("the path selects content outside the resource being patched")


def _slots(run: _Run, op: Operation) -> list[_Slot]:
    split = _split(run.document, op.ast)
    if split is not None:
        parent, name, index = split
        owners = _owners(run, parent)
        if owners is not None:
            candidates = [slot for owner in owners for slot in _slots_in(*owner, name)]
            return candidates if index is None else candidates[index : index + 1]
    return _identity_slots(run, _evaluate(run.document, op.ast))


def _slots_in(owner: dict[str, Any], owner_type: str | None, name: str) -> list[_Slot]:
    element = _element(owner_type, name, None, owner)
    value = owner.get(element.key, owner.get(f"_{element.key}"))
    if value is None:
        return []
    if isinstance(value, list):
        return [_Slot(owner, element, i) for i in range(len(value))]
    return [_Slot(owner, element, None)]


def _identity_slots(run: _Run, nodes: list[Any]) -> list[_Slot]:
    found: dict[tuple[int, str, int | None], _Slot] = {}
    for node in nodes:
        data = _data(node)
        if not isinstance(data, dict):
            raise _Unapplicable(
                "the path selects a primitive value that cannot be located in the resource: "
                "a path ending in a function must select complex elements"
            )
        if data is run.document:
            raise _Unapplicable("the path selects the resource itself")
        _ensure_inside(run, data)
        owner, key = run.tree[id(data)]
        index = None
        if isinstance(owner, list):
            (owner, key), index = run.tree[id(owner)], key
        key = key.removeprefix("_")  # a primitive's extension object stands for the primitive
        element = _Element(key, key, getattr(node, "path", None), None)
        found[(id(owner), key, index)] = _Slot(owner, element, index)
    return list(found.values())


def _collection(run: _Run, op: Operation, suffix: str | None) -> tuple[dict[str, Any], _Element]:
    """The element holding the list that `op.path` names, and that list's element."""
    split = _split(run.document, op.ast)
    if split is None or split[2] is not None:
        raise _Unapplicable("the path must end in the name of a list element (Patient.identifier)")
    owners = _owners(run, split[0])
    if not owners:
        raise _Unapplicable(f"No content found at {op.path}")
    if len(owners) > 1:
        raise _Unapplicable(f"{op.path} is found in {len(owners)} elements; it must be one")
    owner, owner_type = owners[0]
    return owner, _element(owner_type, split[1], suffix, owner)


# ------------------------------------------------------------------------ changing it


def _list_insert(owner: dict[str, Any], key: str, position: int, value: Any, ext: Any) -> None:
    extras = owner.get(f"_{key}")
    items = owner.setdefault(key, [None] * len(extras) if isinstance(extras, list) else [])
    if extras is None and ext is not None:
        extras = [None] * len(items)
    items.insert(position, value)
    if isinstance(extras, list):
        extras.insert(position, ext)
        _store_extras(owner, key, extras)


def _store_extras(owner: dict[str, Any], key: str, extras: list[Any]) -> None:
    if _is_empty(extras):
        owner.pop(f"_{key}", None)
    else:
        owner[f"_{key}"] = extras


def _is_empty(value: Any) -> bool:
    return not value or (isinstance(value, list) and all(item is None for item in value))


def _remove(slot: _Slot) -> None:
    owner, key = slot.owner, slot.element.key
    for name in (key, f"_{key}"):
        if slot.index is None:
            owner.pop(name, None)
            continue
        items = owner.get(name)
        if isinstance(items, list) and slot.index < len(items):
            del items[slot.index]
        if name in owner and _is_empty(owner[name]):
            del owner[name]


def _prune(run: _Run, emptied: Any) -> None:
    """Remove `emptied` and each ancestor that this leaves empty."""
    while emptied is not run.document and id(emptied) in run.tree and _is_empty(emptied):
        container, position = run.tree[id(emptied)]
        if isinstance(container, list) and str(run.tree[id(container)][1]).startswith("_"):
            container[position] = None  # keep a parallel primitive-extension array aligned
        else:
            del container[position]
        emptied = container


def _set(slot: _Slot, key: str, value: Any, ext: Any) -> None:
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


# ------------------------------------------------------------------------ the operations


def _add(run: _Run, op: Operation) -> None:
    assert op.name is not None and op.value is not None
    nodes = _evaluate(run.document, op.ast)
    if not nodes:
        raise _Unapplicable(f"No content found at {op.path} when adding")
    if len(nodes) > 1:
        raise _Unapplicable(f"{op.path} selects {len(nodes)} elements; add needs exactly one")
    owner = _data(nodes[0])
    if not isinstance(owner, dict):
        raise _Unapplicable(f"{op.path} is a primitive value; add needs a complex element")
    _ensure_inside(run, owner)
    owner_type = getattr(nodes[0], "path", None)
    _check_name(owner_type, op.name)
    element = _element(owner_type, op.name, _suffix_of(op.value), None)
    value, ext = _build(op.value, element, run.repeats)
    existing = owner.get(element.key)
    if _is_repeating(element, existing, run.repeats):
        if existing is not None and not isinstance(existing, list):
            raise _Unapplicable(f"{element.key} holds a single value, not a list")
        _list_insert(owner, element.key, len(existing or []), value, ext)
        return
    variants = [element.base + c for c in element.choices] or [element.key]
    present = [k for k in variants if k in owner or f"_{k}" in owner]
    if present:
        raise _Unapplicable(f"{present[0]} already has a value; use replace")
    _set(_Slot(owner, element, None), element.key, value, ext)


def _insert(run: _Run, op: Operation) -> None:
    assert op.value is not None and op.position is not None
    owner, element = _collection(run, op, _suffix_of(op.value))
    existing = owner.get(element.key)
    declared = run.repeats(element.path) if run.repeats and element.path else None
    if (existing is not None and not isinstance(existing, list)) or declared is False:
        raise _Unapplicable(f"{element.key} is not a list")
    size = len(existing or [])
    if not 0 <= op.position <= size:
        raise _Unapplicable(f"index {op.position} is outside 0..{size}")
    value, ext = _build(op.value, element, run.repeats)
    _list_insert(owner, element.key, op.position, value, ext)


def _delete(run: _Run, op: Operation) -> None:
    slots = _slots(run, op)
    if len(slots) > 1:
        raise _Unapplicable(f"{op.path} selects {len(slots)} elements; delete removes one")
    if slots:  # deleting what is not there is not an error
        _remove(slots[0])
        _prune(run, slots[0].owner)


def _replace(run: _Run, op: Operation) -> None:
    assert op.value is not None
    slots = _slots(run, op)
    if not slots:
        raise _Unapplicable(f"No content found at {op.path} when replacing")
    if len(slots) > 1:
        raise _Unapplicable(f"{op.path} selects {len(slots)} elements; replace needs exactly one")
    element, suffix = slots[0].element, _suffix_of(op.value)
    if element.choices and suffix:
        element = replace(element, key=element.base + suffix, type=_fhir_type(suffix))
    value, ext = _build(op.value, element, run.repeats)
    _set(slots[0], element.key, value, ext)


def _move(run: _Run, op: Operation) -> None:
    assert op.source is not None and op.destination is not None
    owner, element = _collection(run, op, None)
    items = owner.get(element.key)
    if not isinstance(items, list):
        raise _Unapplicable(f"No list found at {op.path}")
    for label, position in (("source", op.source), ("destination", op.destination)):
        if not 0 <= position < len(items):
            raise _Unapplicable(f"{label} {position} is outside 0..{len(items) - 1}")
    for key in (element.key, f"_{element.key}"):
        values = owner.get(key)
        if isinstance(values, list) and len(values) == len(items):
            values.insert(op.destination, values.pop(op.source))


_OPERATIONS: dict[str, Callable[[_Run, Operation], None]] = {
    "add": _add,
    "insert": _insert,
    "delete": _delete,
    "replace": _replace,
    "move": _move,
}
