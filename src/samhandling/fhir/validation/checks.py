"""Checks that run on a complex value after its structure was walked.

* Reference: a relative literal reference `Type/id[/_history/vid]` must name an R4 resource
  type that the element allows (its targetProfiles); `Reference.type` must agree with it.
  Local (`#id`), `urn:uuid:`/`urn:oid:`, absolute and conditional (`Type?query`) references are
  accepted as they are.
* Coding / CodeableConcept with a required binding (see `codeable_concept`).
* Extension: ext-1, either nested extensions or a value[x], not both and not neither.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from samhandling.fhir.outcome import Issue
from samhandling.fhir.validation.resource_types import RESOURCE_TYPES

if TYPE_CHECKING:
    from samhandling.fhir.validation.model import ElementDef

PostCheck = Callable[[dict[str, Any], "ElementDef", str, list[Issue]], None]

_RELATIVE = re.compile(r"([A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?")
_relative_match = _RELATIVE.fullmatch
_FHIR_SD = "http://hl7.org/fhir/StructureDefinition/"


def _error(code: str, message: str, path: str) -> Issue:
    return Issue("error", code, message, (path,))


def _allowed(element: ElementDef) -> str:
    return ", ".join(sorted(element.targets or ()))


def reference(value: dict[str, Any], element: ElementDef, path: str, issues: list[Issue]) -> None:
    """Reference.reference / Reference.type against the allowed target resource types."""
    literal = value.get("reference")
    ref_type: str | None = None
    if type(literal) is str and (match := _relative_match(literal)) is not None:
        ref_type = match.group(1)
        if ref_type not in RESOURCE_TYPES:
            message = f"{literal!r}: {ref_type} is not an R4 resource type"
            issues.append(_error("invalid", message, path + ".reference"))
            return
        if element.targets is not None and ref_type not in element.targets:
            allowed = _allowed(element)
            message = f"{literal!r}: a reference to {ref_type} is not allowed (allowed: {allowed})"
            issues.append(_error("invalid", message, path + ".reference"))
    declared = value.get("type")
    if type(declared) is str:
        _declared_type(declared.removeprefix(_FHIR_SD), ref_type, element, path, issues)


def _declared_type(
    declared: str, ref_type: str | None, element: ElementDef, path: str, issues: list[Issue]
) -> None:
    """Reference.type (when it is an R4 resource type name) must fit the element and literal."""
    if declared not in RESOURCE_TYPES:
        return
    if ref_type is not None and ref_type != declared:
        message = f"Reference.type {declared} does not match the reference to {ref_type}"
        issues.append(_error("invalid", message, path + ".type"))
    elif element.targets is not None and declared not in element.targets:
        message = f"Reference.type {declared} is not allowed here (allowed: {_allowed(element)})"
        issues.append(_error("invalid", message, path + ".type"))


def coding(value: dict[str, Any], element: ElementDef, path: str, issues: list[Issue]) -> None:
    """A Coding with a required binding must be a code of the value set (system and code)."""
    valueset = element.valueset
    code = value.get("code")
    if valueset is None or type(code) is not str:
        return
    system = value.get("system")
    codes = valueset.systems.get(system) if type(system) is str else None
    if codes is None or code not in codes:
        message = f"{system}#{code} is not in the required value set {valueset.url}"
        issues.append(_error("code-invalid", message, path + ".code"))


def codeable_concept(
    value: dict[str, Any], element: ElementDef, path: str, issues: list[Issue]
) -> None:
    """Required binding on a CodeableConcept.

    Codings of a system the value set draws on must carry one of its codes: when there are such
    codings and none of them is valid, each of them is an error. Codings of other systems
    (translations) are not judged; a concept with no coding of the value set's systems at all
    gets a warning only (it cannot be shown wrong without a terminology server).
    """
    valueset = element.valueset
    if valueset is None:
        return
    wrong: list[tuple[int, str]] = []
    codings = value.get("coding")
    for index, item in enumerate(codings if type(codings) is list else ()):
        if type(item) is not dict or type(code := item.get("code")) is not str:
            continue
        system = item.get("system")
        codes = valueset.systems.get(system) if type(system) is str else None
        if codes is not None:
            if code in codes:
                return
            wrong.append((index, code))
    for index, code in wrong:
        message = f"{code!r} is not in the required value set {valueset.url}"
        issues.append(_error("code-invalid", message, f"{path}.coding[{index}].code"))
    if not wrong:
        message = f"no coding from the required value set {valueset.url}"
        issues.append(Issue("warning", "code-invalid", message, (path,)))


def extension(value: dict[str, Any], element: ElementDef, path: str, issues: list[Issue]) -> None:
    """ext-1: an extension has either nested extensions or a value[x], not both."""
    has_value = any(key.startswith(("value", "_value")) for key in value)
    if has_value == ("extension" in value):
        which = "both" if has_value else "neither"
        message = f"an extension must have either extensions or a value[x], but has {which}"
        issues.append(_error("structure", message, path))


def post_check_for(fhir_type: str, bound: bool) -> PostCheck | None:
    """The post-check for values of `fhir_type` (bound: has a required value set)."""
    if fhir_type == "Reference":
        return reference
    if fhir_type == "Extension":
        return extension
    if bound and fhir_type == "Coding":
        return coding
    if bound and fhir_type == "CodeableConcept":
        return codeable_concept
    return None
