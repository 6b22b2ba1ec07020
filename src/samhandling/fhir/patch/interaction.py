"""The FHIR `patch` interaction (R4 §3.1.0.7): JSON Patch and FHIRPath Patch.

    apply_json_patch(resource, operations)        application/json-patch+json (RFC 6902)
    apply_fhirpath_patch(resource, parameters)    application/fhir+json (a Parameters resource)

Both return a new dict and never change their arguments. Errors are `FhirError`s:
* 400 `invalid`: the patch document is malformed (for FHIRPath Patch: not a Parameters
  resource, a parameter not named `operation`, an unknown operation type, a missing, unused
  or repeated part, a value that is not exactly one of value[x]/resource/parts, a path that
  is not valid FHIRPath);
* 422 `processing`: a well-formed operation cannot be applied (failed JSON Patch `test`,
  nothing found at the path, several elements where one is needed, a value of the wrong
  type, an index out of range), or the patch would change the resource's `resourceType`
  or `id` (the server decides ids).
The diagnostics name the failing operation by its 0-based index.

The work is bounded (`samhandling.fhir.request_limits`): more than MAX_PATCH_OPERATIONS
operations, or a FHIRPath path longer than MAX_FHIRPATH_LENGTH, nesting deeper than
MAX_FHIRPATH_NESTING, calling a function outside `_PATH_FUNCTIONS` (those that can multiply
a collection: `select`, `combine`, `repeat`, `descendants`, …) or naming `%resource` inside
a function's argument is a 400 `too-costly`; a result larger than `max_bytes` is a 422
`too-costly`.

The engines are `json_patch` and `fhirpath` (with `fhirpath_elements` and
`fhirpath_targets`). For FHIRPath Patch pass `repeats`
(e.g. `repeats_from_definitions(structure_definitions)`) so that the first value added to a
repeating element becomes a JSON array; see `samhandling.fhir.patch.fhirpath`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from antlr4 import CommonTokenStream, InputStream
from antlr4.error.ErrorListener import ErrorListener
from fhirpathpy.parser import parse
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from samhandling.fhir import json_codec
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.patch import fhirpath, json_patch
from samhandling.fhir.patch.fhirpath import Operation
from samhandling.fhir.patch.fhirpath_elements import Repeats, value_entry
from samhandling.fhir.patch.json_patch import MAX_PATCHED_BYTES
from samhandling.fhir.request_limits import (
    MAX_FHIRPATH_LENGTH,
    MAX_FHIRPATH_NESTING,
    MAX_FHIRPATH_PATCH_PATHS,
    MAX_FHIRPATH_PATCH_WORK,
    MAX_PATCH_OPERATIONS,
    too_costly,
)

__all__ = [
    "MAX_PATCHED_BYTES",
    "Repeats",
    "apply_fhirpath_patch",
    "apply_json_patch",
    "read_fhirpath_patch",
    "repeats_from_definitions",
]

_FIXED = ("resourceType", "id")
_OPERATION_PARTS: dict[str, tuple[str, ...]] = {
    "add": ("path", "name", "value"),
    "insert": ("path", "value", "index"),
    "delete": ("path",),
    "replace": ("path", "value"),
    "move": ("path", "source", "destination"),
}
# Functions that return at most as many items as they are given (FHIRPath N1 §5)
_PATH_FUNCTIONS = frozenset(
    {
        *("where", "exists", "all", "empty", "not", "first", "last", "tail", "skip", "take"),
        *("single", "ofType", "as", "is", "hasValue", "count", "distinct", "isDistinct"),
        *("allTrue", "anyTrue", "allFalse", "anyFalse", "startsWith", "endsWith", "contains"),
        *("matches", "lower", "upper", "length", "substring", "trim", "indexOf", "toString"),
        *("toInteger", "toDecimal", "toBoolean", "toDate", "toDateTime", "extension", "iif"),
        *("today", "now"),
    }
)
# string and delimited-identifier literals
_LITERALS = re.compile(r"""'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`""")
# `.div` as a member name, outside string and delimited-identifier literals
_DIV_MEMBER = re.compile(r"""('(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)|\.div\b(?!\s*\()""")


def apply_json_patch(
    resource: dict[str, Any], operations: object, *, max_bytes: int = MAX_PATCHED_BYTES
) -> dict[str, Any]:
    """Apply an RFC 6902 JSON Patch document (a JSON array) to a copy of `resource`."""
    guard = _IdentityGuard(resource)
    patched = json_patch.apply(resource, operations, after_each=guard.observe, max_bytes=max_bytes)
    guard.check("JSON Patch")
    return patched


def apply_fhirpath_patch(
    resource: dict[str, Any],
    parameters: object,
    *,
    repeats: Repeats | None = None,
    max_bytes: int = MAX_PATCHED_BYTES,
) -> dict[str, Any]:
    """Apply a FHIRPath Patch (a Parameters resource) to a copy of `resource`.

    `repeats` tells whether an element path such as `Patient.identifier` repeats; without it
    a new element is added as a single value unless the resource already holds a list there.
    """
    operations = read_fhirpath_patch(parameters)
    _check_work(resource, len(operations))
    guard = _IdentityGuard(resource)
    patched = fhirpath.apply(resource, operations, repeats=repeats, after_each=guard.observe)
    guard.check("FHIRPath Patch")
    # each value comes from the patch document, so the result grows by at most its size
    size = len(json_codec.dump(patched))
    if size > max_bytes:
        raise json_patch.result_too_large("FHIRPath Patch", size, max_bytes)
    return patched


def _check_work(resource: dict[str, Any], operations: int) -> None:
    """Each operation evaluates its path over the whole resource: bound their product."""
    size = len(json_codec.dump(resource))
    if operations * size > MAX_FHIRPATH_PATCH_WORK:
        message = (
            f"A FHIRPath Patch of {operations} operations on a resource of {size} bytes is "
            f"above the bound of {MAX_FHIRPATH_PATCH_WORK} (operations × bytes); "
            "send fewer operations per patch"
        )
        raise FhirError(422, error("too-costly", message))


def repeats_from_definitions(definitions: Iterable[Mapping[str, Any]]) -> Repeats:
    """A `Repeats` lookup from base StructureDefinitions (resources and datatypes).

    Profiles (derivation `constraint`) are skipped: they may narrow a cardinality, but the
    JSON shape follows the base definition. Unknown paths give None.
    """
    cardinality: dict[str, bool] = {}
    for definition in definitions:
        if definition.get("resourceType") != "StructureDefinition":
            continue
        if definition.get("derivation") == "constraint":
            continue
        for element in (definition.get("snapshot") or {}).get("element", []):
            path, most = element.get("path"), element.get("max")
            if isinstance(path, str) and "." in path and isinstance(most, str):
                cardinality.setdefault(path.removesuffix("[x]"), most not in ("0", "1"))
    return cardinality.get


# ---------------------------------------------------------- reading a FHIRPath Patch (400)


class _Malformed(Exception):
    """The patch document is not a valid FHIRPath Patch."""


class _TooCostly(Exception):
    """A path outside the bounds on the work of a patch."""


def read_fhirpath_patch(parameters: object) -> list[Operation]:
    """The operations of a FHIRPath Patch Parameters resource; FhirError 400 if malformed."""
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        raise FhirError(400, "a FHIRPath Patch must be a Parameters resource", code="invalid")
    items = parameters.get("parameter", [])
    if not isinstance(items, list):
        raise FhirError(400, "Parameters.parameter must be an array", code="invalid")
    if len(items) > MAX_PATCH_OPERATIONS:
        message = f"A patch may have at most {MAX_PATCH_OPERATIONS} operations, not {len(items)}"
        raise too_costly(message, "Parameters.parameter")
    operations: list[Operation] = []
    for index, item in enumerate(items):
        try:
            spent = sum(len(done.path) for done in operations)
            operations.append(_read_operation(index, item, MAX_FHIRPATH_PATCH_PATHS - spent))
        except (_Malformed, _TooCostly, ValueError) as exc:
            code = "too-costly" if isinstance(exc, _TooCostly) else "invalid"
            message = f"FHIRPath Patch operation {index}: {exc}"
            raise FhirError(400, error(code, message, f"Parameters.parameter[{index}]")) from None
    return operations


def _read_operation(index: int, parameter: object, characters_left: int) -> Operation:
    parts = _operation_parts(parameter)
    kind = _scalar_part(parts, "type", str)
    if kind not in _OPERATION_PARTS:
        raise _Malformed(f"unknown operation type {kind!r}")
    needed = _OPERATION_PARTS[kind]
    unused = sorted(set(parts) - {"type", *needed})
    if unused:
        raise _Malformed(f"part '{unused[0]}' is not used by '{kind}'")
    missing = [name for name in needed if name not in parts]
    if missing:
        raise _Malformed(f"'{kind}' needs a '{missing[0]}' part")
    if "value" in parts:
        _check_value_part(parts["value"])
    path = _scalar_part(parts, "path", str)
    if len(path) > characters_left:  # each path is parsed (ANTLR, in Python): bound them all
        limit = MAX_FHIRPATH_PATCH_PATHS
        raise _TooCostly(f"the paths of the patch are longer than {limit} characters together")
    return Operation(
        index=index,
        type=kind,
        path=path,
        ast=_parse_path(path),
        name=_optional_part(parts, "name", str),
        value=parts.get("value"),
        position=_optional_part(parts, "index", int),
        source=_optional_part(parts, "source", int),
        destination=_optional_part(parts, "destination", int),
    )


def _operation_parts(parameter: object) -> dict[str, dict[str, Any]]:
    if not isinstance(parameter, dict) or parameter.get("name") != "operation":
        raise _Malformed("each parameter must be named 'operation'")
    parts = parameter.get("part")
    if not isinstance(parts, list):
        raise _Malformed("an operation needs parts")
    named: dict[str, dict[str, Any]] = {}
    for part in parts:
        if not isinstance(part, dict) or not isinstance(part.get("name"), str):
            raise _Malformed("each part needs a name")
        if part["name"] in named:
            raise _Malformed(f"part '{part['name']}' appears twice")
        named[part["name"]] = part
    return named


def _scalar_part(parts: Mapping[str, Mapping[str, Any]], name: str, kind: type) -> Any:
    entry = value_entry(parts[name]) if name in parts else None
    value = entry[1] if entry else None
    if not isinstance(value, kind) or isinstance(value, bool) or value == "":
        expected = "an integer" if kind is int else "a non-empty string"
        raise _Malformed(f"part '{name}' needs {expected} value")
    return value


def _optional_part(parts: Mapping[str, Mapping[str, Any]], name: str, kind: type) -> Any:
    return _scalar_part(parts, name, kind) if name in parts else None


def _check_value_part(part: Mapping[str, Any]) -> None:
    """A value is a `value[x]`, a `resource`, or `part`s that are values in turn."""
    forms = [value_entry(part) is not None, "resource" in part, "part" in part]
    if sum(forms) != 1:
        raise _Malformed(f"part '{part.get('name')}' needs exactly one of value[x], resource, part")
    if "part" in part:
        subparts = part["part"]
        if not isinstance(subparts, list) or not subparts:
            raise _Malformed(f"part '{part.get('name')}' has an empty or invalid 'part'")
        for sub in subparts:
            if not isinstance(sub, dict) or not isinstance(sub.get("name"), str):
                raise _Malformed(f"every part inside '{part.get('name')}' needs a name")
            _check_value_part(sub)


def _parse_path(text: str) -> dict[str, Any]:
    """fhirpathpy's AST of `text`, after a strict syntax check (fhirpathpy's own parser
    silently recovers from errors).

    `div` is a FHIRPath operator, so `Patient.text.div` is strictly a syntax error; it is
    what everyone writes for Narrative.div, so such a member name is read as `div`.
    """
    _check_path_size(text)
    problem = _syntax_error(text)
    if problem is not None:
        delimited = _DIV_MEMBER.sub(lambda m: m.group(1) or ".`div`", text)
        if delimited == text or _syntax_error(delimited) is not None:
            raise _Malformed(f"invalid FHIRPath {text!r} {problem}")
        text = delimited
    ast: dict[str, Any] = parse(text)["children"][0]
    _check_path_work(ast)
    return ast


def _check_path_size(text: str) -> None:
    """Length and nesting, before the (backtracking) parser sees the path."""
    if len(text) > MAX_FHIRPATH_LENGTH:
        raise _TooCostly(f"the path is longer than {MAX_FHIRPATH_LENGTH} characters")
    depth = deepest = 0
    for char in _LITERALS.sub("", text):
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    if deepest > MAX_FHIRPATH_NESTING:
        raise _TooCostly(f"the path nests deeper than {MAX_FHIRPATH_NESTING} levels")


def _check_path_work(node: dict[str, Any], in_argument: bool = False) -> None:
    """Only functions whose result is no larger than their input, and `%resource` only
    where the path starts: the work is then linear in the resource and the path."""
    kind, children = node.get("type"), node.get("children", [])
    if kind == "Functn":
        name = children[0]["terminalNodeText"][0]
        if name not in _PATH_FUNCTIONS:
            raise _TooCostly(f"the function {name}() is not allowed in a patch path")
        in_argument = True
    elif kind == "ExternalConstantTerm" and in_argument:
        raise _TooCostly("%-constants are not allowed inside a function's argument")
    elif kind == "UnionExpression":
        raise _TooCostly("a union (|) is not allowed in a patch path")
    for child in children:
        _check_path_work(child, in_argument)


class _SyntaxErrors(ErrorListener):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def syntaxError(  # the antlr4 listener API
        self, recognizer: Any, offendingSymbol: Any, line: int, column: int, msg: str, e: Any
    ) -> None:
        self.messages.append(f"at {column + 1}: {msg}")


def _syntax_error(text: str) -> str | None:
    listener = _SyntaxErrors()
    lexer = FHIRPathLexer(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    parser = FHIRPathParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    parser.entireExpression()
    return listener.messages[0] if listener.messages else None


# ------------------------------------------------------------------- resourceType and id


class _IdentityGuard:
    """Refuses a patch whose result has another resourceType or id than the original.

    Only the final state counts; the operation named is the one that started the change.
    """

    def __init__(self, original: dict[str, Any]) -> None:
        self._original = _identity(original)
        self._culprit: tuple[int, tuple[Any, ...]] | None = None

    def observe(self, index: int, document: Any) -> None:
        now = _identity(document)
        if now == self._original:
            self._culprit = None
        elif self._culprit is None:
            self._culprit = (index, now)

    def check(self, kind: str) -> None:
        if self._culprit is None:
            return
        index, now = self._culprit
        field, before, after = next(
            (name, old, new)
            for name, old, new in zip(_FIXED, self._original, now, strict=True)
            if old != new
        )
        message = (
            f"{kind} operation {index} changes {field} from {before!r} to {after!r}; "
            "resourceType and id cannot be patched (the server decides ids)"
        )
        raise FhirError(422, error("processing", message, field))


def _identity(document: Any) -> tuple[Any, ...]:
    if not isinstance(document, dict):
        return (None, None)
    return tuple(document.get(name) for name in _FIXED)
