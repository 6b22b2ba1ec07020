"""JSON Patch (RFC 6902) for the FHIR `patch` interaction (R4 §3.1.0.7.1).

The engine behind `samhandling.fhir.patch.apply_json_patch`; call that function, which adds
the resourceType/id guard. Operations are applied one at a time with the `jsonpatch`
library so that an error names the operation (0-based index) that failed.

* A malformed document (not an array, an operation that is not an object, an unknown `op`,
  a missing or non-string `path`/`from`, a JSON Pointer without a leading `/` or with a bad
  `~` escape, a missing `value`) → 400 `invalid`.
* A well-formed operation that cannot be applied (failed `test`, missing target, index out
  of range, moving a value into its own child) → 422 `processing`.
* Members an operation does not use are ignored, as RFC 6902 §4 requires.
* More than MAX_PATCH_OPERATIONS operations → 400 `too-costly`; a document that would grow
  beyond `max_bytes` (each `copy` of a list into itself doubles it) → 422 `too-costly`,
  found before the operation that would cross the bound is applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonpatch
import jsonpointer

from samhandling.fhir import json_codec
from samhandling.fhir.json_codec import clone_json
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.request_limits import MAX_PATCH_OPERATIONS, too_costly

AfterEach = Callable[[int, Any], None]
"""Called after each applied operation with its index and the document so far."""
MAX_PATCHED_BYTES = 10 * 1024 * 1024
"""The default bound on a patched resource (JSON bytes): the default body limit."""
_GROWING = frozenset({"add", "replace", "copy"})

_REQUIRED_MEMBERS: dict[str, tuple[str, ...]] = {
    "add": ("value",),
    "remove": (),
    "replace": ("value",),
    "move": ("from",),
    "copy": ("from",),
    "test": ("value",),
}


def apply(
    resource: dict[str, Any],
    operations: object,
    after_each: AfterEach | None = None,
    *,
    max_bytes: int = MAX_PATCHED_BYTES,
) -> dict[str, Any]:
    """Apply an RFC 6902 patch document to a copy of `resource` and return the copy."""
    checked = _validated(operations)
    document: Any = clone_json(resource)
    size = _SizeBound(document, max_bytes)
    for index, operation in enumerate(checked):
        size.before(document, operation)
        try:
            document = jsonpatch.JsonPatch([operation]).apply(document, in_place=True)
        except jsonpatch.InvalidJsonPatch as exc:
            raise _malformed(index, str(exc)) from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise _unapplicable(index, operation, exc) from None
        if after_each is not None:
            after_each(index, document)
    if not isinstance(document, dict):
        raise FhirError(422, "JSON Patch result is not a JSON object (a resource)")
    return document


class _SizeBound:
    """An upper bound on the document's JSON size: it grows by each added or copied value
    (nothing is subtracted); above `most` the size is measured again, exactly."""

    def __init__(self, document: Any, most: int) -> None:
        self.most = most
        self.bound = _json_size(document)

    def before(self, document: Any, operation: dict[str, Any]) -> None:
        if operation["op"] not in _GROWING:
            return
        if operation["op"] == "copy":
            try:
                value = jsonpointer.resolve_pointer(document, operation["from"])
            except jsonpointer.JsonPointerException:
                return  # the operation itself will fail with a 422
        else:
            value = operation["value"]
        self.bound += _json_size(value)
        if self.bound > self.most:
            self.bound = _json_size(document) + _json_size(value)
            if self.bound > self.most:
                raise result_too_large("JSON Patch", self.bound, self.most)


def _json_size(value: Any) -> int:
    return len(json_codec.dump(value))


def result_too_large(kind: str, size: int, most: int) -> FhirError:
    message = f"The {kind} would make the resource {size} bytes, above the limit of {most}"
    return FhirError(422, error("too-costly", message))


def _validated(operations: object) -> list[dict[str, Any]]:
    if not isinstance(operations, list):
        raise FhirError(400, "a JSON Patch document must be a JSON array", code="invalid")
    if len(operations) > MAX_PATCH_OPERATIONS:
        message = (
            f"A patch may have at most {MAX_PATCH_OPERATIONS} operations, not {len(operations)}"
        )
        raise too_costly(message)
    for index, operation in enumerate(operations):
        problem = _problem(operation)
        if problem is not None:
            raise _malformed(index, problem)
    return operations


def _problem(operation: object) -> str | None:
    """Why `operation` is not a well-formed RFC 6902 operation, or None."""
    if not isinstance(operation, dict):
        return "an operation must be a JSON object"
    op = operation.get("op")
    if op not in _REQUIRED_MEMBERS:
        return f"unknown or missing 'op' {op!r}"
    for member in ("path", *(m for m in _REQUIRED_MEMBERS[op] if m == "from")):
        pointer = operation.get(member)
        if not isinstance(pointer, str):
            return f"'{op}' needs a string '{member}'"
        try:
            jsonpointer.JsonPointer(pointer)
        except jsonpointer.JsonPointerException as exc:
            return f"invalid JSON Pointer in '{member}' {pointer!r}: {exc}"
    missing = [m for m in _REQUIRED_MEMBERS[op] if m not in operation]
    if missing:
        return f"'{op}' needs a '{missing[0]}' member"
    return None


def _malformed(index: int, why: str) -> FhirError:
    return FhirError(400, error("invalid", f"JSON Patch operation {index}: {why}"))


def _unapplicable(index: int, operation: dict[str, Any], exc: Exception) -> FhirError:
    if isinstance(exc, jsonpatch.JsonPatchTestFailed):
        why = f"test failed: {exc}"
    else:
        why = str(exc) or type(exc).__name__
    where = operation["path"]
    message = f"JSON Patch operation {index} ({operation['op']} {where}) cannot be applied: {why}"
    return FhirError(422, error("processing", message))
