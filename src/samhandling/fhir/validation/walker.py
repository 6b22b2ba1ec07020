"""The structural walk over a resource's JSON (R4 §2.6.2 JSON representation rules).

One `Walker` collects the issues of one `validate_resource` call. Paths are built as FHIRPath-like
strings while walking (`Patient.name[0].given[1]`, `Observation.value.ofType(Quantity)`,
`Bundle.entry[0].resource.ofType(Patient).id`).
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import Issue
from samhandling.fhir.validation.model import (
    COMPLEX,
    FORBIDDEN,
    PRIMITIVE,
    RESOURCE,
    ElementDef,
    Model,
    StructDef,
)


def _json_type(value: Any) -> str:
    """The JSON type of a parsed value, for messages."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "boolean" if isinstance(value, bool) else "number"


class Walker:
    """Walks resources and appends every problem found to `issues`."""

    __slots__ = ("element_struct", "issues", "model")

    def __init__(self, model: Model) -> None:
        self.model = model
        self.element_struct = model.structs["Element"]
        self.issues: list[Issue] = []

    def error(self, code: str, message: str, path: str) -> None:
        """Record an error-severity issue."""
        self.issues.append(Issue("error", code, message, (path,)))

    def resource(self, value: Any, path: str | None) -> None:
        """A resource: at the root (path None) or held by the element at `path`."""
        where = path or "Resource"
        if type(value) is not dict:
            self.error(
                "structure", f"a resource must be a JSON object, not {_json_type(value)}", where
            )
            return
        rtype = value.get("resourceType")
        struct = self.model.resources.get(rtype) if type(rtype) is str else None
        if struct is None or type(rtype) is not str:
            if rtype is None:
                self.error("required", "resourceType is missing", where + ".resourceType")
            else:
                message = f"{rtype!r} is not an R4 resource type"
                self.error("structure", message, where + ".resourceType")
            return
        self.struct(value, struct, rtype if path is None else f"{path}.ofType({rtype})")

    def struct(self, obj: dict[str, Any], struct: StructDef, path: str) -> None:
        """The properties of one JSON object against its structure definition (the hot loop)."""
        get = struct.elements.get
        choices: dict[str, str] | None = None
        for key, value in obj.items():
            element = get(key)
            if element is None:
                self.other(obj, key, value, struct, path)
                continue
            if element.plain:  # fast path: single primitive, not a choice, no value set
                problem = element.check(value)  # type: ignore[misc]
                if problem is not None:
                    self.bad_primitive(value, element, problem, path + element.dotted)
                continue
            if element.choice is not None:
                choices = self.choice(choices, element, path)
            if element.many:
                if type(value) is list and value:
                    self.items(obj, key, value, element, path + element.dotted)
                else:
                    self.not_array(value, element, path + element.dotted)
                continue
            kind = element.kind
            if kind == PRIMITIVE:
                problem = element.check(value)  # type: ignore[misc]
                valueset = element.valueset
                if problem is not None or (valueset is not None and value not in valueset.codes):
                    self.bad_primitive(value, element, problem, path + element.dotted)
            elif kind == COMPLEX:
                self.complex(value, element, path + element.dotted)
            else:
                self.special(value, element, struct, path)
        if struct.required_names or struct.required_choices:
            self.required(obj, struct, path)

    def special(self, value: Any, element: ElementDef, struct: StructDef, path: str) -> None:
        """A single resource-typed element, a forbidden (0..0) element, or `resourceType`."""
        if element.kind == RESOURCE:
            self.resource(value, path + element.dotted)
        elif element.kind == FORBIDDEN:
            message = f"{element.name} is not allowed in {struct.name}"
            self.error("structure", message, path + element.dotted)

    def bad_primitive(
        self, value: Any, element: ElementDef, problem: tuple[str, str] | None, path: str
    ) -> None:
        """Report a primitive with a bad JSON type or format, or a code outside its value set."""
        if type(value) is list:
            self.not_single(value, element, path)
        elif problem is not None:
            self.error(problem[0], problem[1], path)
        elif element.valueset is not None:
            message = f"{value!r} is not in the required value set {element.valueset.url}"
            self.error("code-invalid", message, path)

    def not_object(self, value: Any, element: ElementDef, path: str) -> None:
        """A complex element whose value is not a non-empty JSON object."""
        if type(value) is list:
            self.not_single(value, element, path)
        elif type(value) is not dict:
            message = f"{element.type} must be a JSON object, not {_json_type(value)}"
            self.error("structure", message, path)
        else:
            self.error("structure", "empty object (an element must have a value or children)", path)

    def complex(self, value: Any, element: ElementDef, path: str) -> None:
        """One complex value: a non-empty object walked against its structure, then post-checked."""
        if type(value) is not dict or not value:
            self.not_object(value, element, path)
            return
        self.struct(value, element.struct, path)  # type: ignore[arg-type]
        if element.post is not None:
            element.post(value, element, path, self.issues)

    def items(
        self, obj: dict[str, Any], key: str, values: list[Any], element: ElementDef, path: str
    ) -> None:
        """The items of a repeating element (a non-empty JSON array)."""
        count = len(values)
        if count < element.min or 0 <= element.max < count:
            bounds = f"{element.min}..{'*' if element.max < 0 else element.max}"
            self.error("value", f"{count} items, but the cardinality is {bounds}", path)
        kind = element.kind
        if kind == PRIMITIVE:
            check, valueset = element.check, element.valueset
            for index, value in enumerate(values):
                if value is not None:
                    problem = check(value)  # type: ignore[misc]
                    if problem is not None or (
                        valueset is not None and value not in valueset.codes
                    ):
                        self.bad_primitive(value, element, problem, f"{path}[{index}]")
                elif not self.has_companion(obj, key, index):
                    message = "null is only allowed where the _ array holds an extension"
                    self.error("structure", message, f"{path}[{index}]")
        elif kind == COMPLEX:
            for index, value in enumerate(values):
                self.complex(value, element, f"{path}[{index}]")
        elif kind == RESOURCE:
            for index, value in enumerate(values):
                self.resource(value, f"{path}[{index}]")

    @staticmethod
    def has_companion(obj: dict[str, Any], key: str, index: int) -> bool:
        """Whether `_key[index]` exists and is not null."""
        companion = obj.get("_" + key)
        return type(companion) is list and index < len(companion) and companion[index] is not None

    def not_array(self, value: Any, element: ElementDef, path: str) -> None:
        """A repeating element that is not given as a non-empty array."""
        if type(value) is list:
            self.error("structure", "empty array (leave the element out instead)", path)
        else:
            message = f"{element.name} repeats and must be a JSON array, not {_json_type(value)}"
            self.error("structure", message, path)

    def not_single(self, value: list[Any], element: ElementDef, path: str) -> None:
        """A single-valued element given as an array."""
        if len(value) > 1:
            message = f"{len(value)} items, but the cardinality is {element.min}..1"
            self.error("value", message, path)
        else:
            self.error(
                "structure", f"{element.name} is single-valued and must not be an array", path
            )

    def choice(
        self, choices: dict[str, str] | None, element: ElementDef, path: str
    ) -> dict[str, str]:
        """Record a choice-type variant; a second variant of the same choice is an error."""
        stem: str = element.choice  # type: ignore[assignment]
        if choices is None:
            return {stem: element.name}
        first = choices.setdefault(stem, element.name)
        if first != element.name:
            message = f"only one of {stem}[x] is allowed, found {first} and {element.name}"
            self.error("structure", message, f"{path}.{stem}[x]")
        return choices

    def required(self, obj: dict[str, Any], struct: StructDef, path: str) -> None:
        """Elements with min >= 1 must be present (a value or a `_` companion), choices too."""
        for name in struct.required_names:
            if name not in obj and "_" + name not in obj:
                self.error("required", f"missing required element {name}", f"{path}.{name}")
        for label, names in struct.required_choices:
            if not any(name in obj or "_" + name in obj for name in names):
                self.error("required", f"missing required element {label}", f"{path}.{label}")

    def other(
        self, obj: dict[str, Any], key: str, value: Any, struct: StructDef, path: str
    ) -> None:
        """A property that is not an element: a primitive's `_` companion, or unknown."""
        if type(key) is not str:
            self.error("structure", f"property name {key!r} is not a string", path)
            return
        if key[:1] == "_":
            element = struct.elements.get(key[1:])
            if element is not None and element.kind == PRIMITIVE and not element.attr:
                if element.choice is not None and element.name not in obj:
                    self.companion_choice(obj, element, struct, path)
                self.companion(obj, value, element, path + element.dotted)
                return
        self.error("structure", struct.unknown_message(key), f"{path}.{key}")

    def companion_choice(
        self, obj: dict[str, Any], element: ElementDef, struct: StructDef, path: str
    ) -> None:
        """`_valueString` without `valueString`: no other variant of value[x] may be present."""
        stem = element.choice
        for name, other in struct.elements.items():
            if other.choice == stem and other is not element and (name in obj or "_" + name in obj):
                message = f"only one of {stem}[x] is allowed, found {name} and _{element.name}"
                self.error("structure", message, f"{path}.{stem}[x]")
                return

    def companion(self, obj: dict[str, Any], value: Any, element: ElementDef, path: str) -> None:
        """`_name`: the id/extensions of a primitive (an array aligned with the values)."""
        if not element.many:
            self.element_object(value, path)
            return
        if type(value) is not list or not value:
            self.error("structure", f"_{element.name} must be a non-empty JSON array", path)
            return
        values = obj.get(element.name)
        if type(values) is list and len(values) != len(value):
            message = f"_{element.name} has {len(value)} items but {element.name} has {len(values)}"
            self.error("structure", message, path)
            return
        for index, item in enumerate(value):
            if item is not None:
                self.element_object(item, f"{path}[{index}]")
            elif type(values) is not list:  # (a null in both arrays is reported by items())
                self.error("structure", "null value without extensions", f"{path}[{index}]")

    def element_object(self, value: Any, path: str) -> None:
        """The object of a `_` companion: an Element (id and extension)."""
        if type(value) is not dict:
            message = (
                f"a primitive's extension object must be a JSON object, not {_json_type(value)}"
            )
            self.error("structure", message, path)
        elif not value:
            self.error("structure", "empty object (an element must have a value or children)", path)
        else:
            self.struct(value, self.element_struct, path)
