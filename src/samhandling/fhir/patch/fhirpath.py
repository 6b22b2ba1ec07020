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
from typing import Any

from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.patch.fhirpath_elements import (
    Repeats,
    Unapplicable,
    build_value,
    check_name,
    element_of,
    fhir_type,
    is_repeating,
    suffix_of,
)
from samhandling.fhir.patch.fhirpath_targets import (
    Run,
    Slot,
    ensure_inside,
    evaluate,
    find_collection,
    find_slots,
    list_insert,
    node_data,
    prune,
    remove_slot,
    set_slot,
)
from samhandling.fhir.patch.json_patch import clone_json

AfterEach = Callable[[int, dict[str, Any]], None]


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
        run = Run(document, repeats)
        try:
            _OPERATIONS[op.type](run, op)
        except Unapplicable as exc:
            message = f"FHIRPath Patch operation {op.index} ({op.type} at {op.path}): {exc}"
            where = f"Parameters.parameter[{op.index}]"
            raise FhirError(422, error("processing", message, where)) from None
        if after_each is not None:
            after_each(op.index, document)
    return document


# ------------------------------------------------------------------------ the operations


def _add(run: Run, op: Operation) -> None:
    assert op.name is not None and op.value is not None
    nodes = evaluate(run.document, op.ast)
    if not nodes:
        raise Unapplicable(f"No content found at {op.path} when adding")
    if len(nodes) > 1:
        raise Unapplicable(f"{op.path} selects {len(nodes)} elements; add needs exactly one")
    owner = node_data(nodes[0])
    if not isinstance(owner, dict):
        raise Unapplicable(f"{op.path} is a primitive value; add needs a complex element")
    ensure_inside(run, owner)
    owner_type = getattr(nodes[0], "path", None)
    check_name(owner_type, op.name)
    element = element_of(owner_type, op.name, suffix_of(op.value), None)
    value, ext = build_value(op.value, element, run.repeats)
    existing = owner.get(element.key)
    if is_repeating(element, existing, run.repeats):
        if existing is not None and not isinstance(existing, list):
            raise Unapplicable(f"{element.key} holds a single value, not a list")
        list_insert(owner, element.key, len(existing or []), value, ext)
        return
    variants = [element.base + c for c in element.choices] or [element.key]
    present = [k for k in variants if k in owner or f"_{k}" in owner]
    if present:
        raise Unapplicable(f"{present[0]} already has a value; use replace")
    set_slot(Slot(owner, element, None), element.key, value, ext)


def _insert(run: Run, op: Operation) -> None:
    assert op.value is not None and op.position is not None
    owner, element = find_collection(run, op.ast, op.path, suffix_of(op.value))
    existing = owner.get(element.key)
    declared = run.repeats(element.path) if run.repeats and element.path else None
    if (existing is not None and not isinstance(existing, list)) or declared is False:
        raise Unapplicable(f"{element.key} is not a list")
    size = len(existing or [])
    if not 0 <= op.position <= size:
        raise Unapplicable(f"index {op.position} is outside 0..{size}")
    value, ext = build_value(op.value, element, run.repeats)
    list_insert(owner, element.key, op.position, value, ext)


def _delete(run: Run, op: Operation) -> None:
    slots = find_slots(run, op.ast)
    if len(slots) > 1:
        raise Unapplicable(f"{op.path} selects {len(slots)} elements; delete removes one")
    if slots:  # deleting what is not there is not an error
        remove_slot(slots[0])
        prune(run, slots[0].owner)


def _replace(run: Run, op: Operation) -> None:
    assert op.value is not None
    slots = find_slots(run, op.ast)
    if not slots:
        raise Unapplicable(f"No content found at {op.path} when replacing")
    if len(slots) > 1:
        raise Unapplicable(f"{op.path} selects {len(slots)} elements; replace needs exactly one")
    element, suffix = slots[0].element, suffix_of(op.value)
    if element.choices and suffix:
        element = replace(element, key=element.base + suffix, type=fhir_type(suffix))
    value, ext = build_value(op.value, element, run.repeats)
    set_slot(slots[0], element.key, value, ext)


def _move(run: Run, op: Operation) -> None:
    assert op.source is not None and op.destination is not None
    owner, element = find_collection(run, op.ast, op.path, None)
    items = owner.get(element.key)
    if not isinstance(items, list):
        raise Unapplicable(f"No list found at {op.path}")
    for label, position in (("source", op.source), ("destination", op.destination)):
        if not 0 <= position < len(items):
            raise Unapplicable(f"{label} {position} is outside 0..{len(items) - 1}")
    for key in (element.key, f"_{element.key}"):
        values = owner.get(key)
        if isinstance(values, list) and len(values) == len(items):
            values.insert(op.destination, values.pop(op.source))


_OPERATIONS: dict[str, Callable[[Run, Operation], None]] = {
    "add": _add,
    "insert": _insert,
    "delete": _delete,
    "replace": _replace,
    "move": _move,
}
