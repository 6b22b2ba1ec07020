"""The terminology operations over the bundled content (R4 §4.8.17, §4.9.17):

- `GET|POST CodeSystem/$lookup` (system, code, version, coding, property): name, version,
  display, designations and properties (parent, definition, ...) of a bundled concept;
  404 when the concept is not bundled.
- `GET|POST CodeSystem/$validate-code` (url or system, code, version, display, coding,
  codeableConcept) and `GET|POST ValueSet/$validate-code` (url, system, code,
  systemVersion, display, coding, codeableConcept): Parameters `result`, `message`, `display`.
- `GET|POST ValueSet/$expand` (url, filter, count, offset): the codes of a bundled value
  set. A value set that includes ATC or SNOMED CT as a whole is refused (400 too-costly)
  unless `filter` narrows it to the bundled concepts that match; such an expansion carries
  the `valueset-unclosed` extension, since other well-formed codes are valid too.

They read no patient data and touch no database: the policy lets every authenticated
caller use them (their permission is "": no scope needed). Deviations: docs/TERMINOLOGY.md.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from samhandling.definitions.operation_definitions import Param
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.operations import (
    Handler,
    Operation,
    OperationContext,
    OperationResult,
)
from samhandling.services.terminology import operation_input as inputs
from samhandling.terminology.codes import known_system, lookup, validate_code
from samhandling.terminology.content import value_sets
from samhandling.terminology.model import CodeCheck, Concept
from samhandling.terminology.value_sets import (
    Expansion,
    ValueSetError,
    expand,
    validate_in_value_set,
)

UNCLOSED = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed"
MAX_COUNT = 1000


def lookup_operation(context: OperationContext) -> OperationResult:
    """`CodeSystem/$lookup` (see the module doc)."""
    wanted = inputs.codings(context, ("system",))[0]
    version = context.text("version")
    refusal = _version_refusal(wanted.system, version)
    concept = lookup(wanted.system, wanted.code) if refusal is None else None
    if concept is None:
        message = refusal or _not_bundled(wanted.system, wanted.code)
        raise FhirError(404, error("not-found", message, "code"))
    properties = {str(p) for p in context.parameters.get("property", []) if p}
    return OperationResult(_lookup_parameters(concept, properties))


def _not_bundled(system: str, code: str) -> str:
    check = validate_code(system, code)
    if not check.valid:
        return str(check.message)
    entry = known_system(system)
    label = entry.label if entry else system
    return f"{label} code {code!r} is well-formed but not bundled here: nothing is known of it"


def _version_refusal(system: str, version: str | None) -> str | None:
    entry = known_system(system)
    if version is None or entry is None or entry.version is None or entry.version == version:
        return None
    return f"Version {version!r} of {entry.label} is not known (this server has {entry.version!r})"


def _lookup_parameters(concept: Concept, wanted: set[str]) -> dict[str, Any]:
    entry = known_system(concept.system)
    assert entry is not None
    parameters: list[dict[str, Any]] = [{"name": "name", "valueString": entry.name}]
    if concept.version:
        parameters.append({"name": "version", "valueString": concept.version})
    if concept.display:
        parameters.append({"name": "display", "valueString": concept.display})
    if not wanted or "designation" in wanted:
        parameters += [_designation(d.to_fhir()) for d in concept.designations]
    properties = [(p.code, p.type, p.value) for p in concept.properties]
    if concept.definition:
        properties.insert(0, ("definition", "String", concept.definition))
    for code, kind, value in properties:
        if not wanted or code in wanted:
            part = [{"name": "code", "valueCode": code}, {"name": "value", f"value{kind}": value}]
            parameters.append({"name": "property", "part": part})
    return {"resourceType": "Parameters", "parameter": parameters}


def _designation(designation: dict[str, Any]) -> dict[str, Any]:
    part: list[dict[str, Any]] = []
    if "language" in designation:
        part.append({"name": "language", "valueCode": designation["language"]})
    if "use" in designation:
        part.append({"name": "use", "valueCoding": designation["use"]})
    part.append({"name": "value", "valueString": designation["value"]})
    return {"name": "designation", "part": part}


def code_system_validate_operation(context: OperationContext) -> OperationResult:
    """`CodeSystem/$validate-code` (see the module doc)."""
    inputs.refuse_resource_parameter(context, "codeSystem")
    url = context.text("url") or context.text("system")
    version = context.text("version")
    candidates = inputs.codings(context, ("url", "system"))
    if url is not None:
        candidates = [c for c in candidates if c.system == url]
    if not candidates:
        return _validation(CodeCheck(False, f"No coding of the code system {url!r} was given"))
    checks = []
    for item in candidates:
        refusal = _version_refusal(item.system, version)
        check = validate_code(item.system, item.code, item.display)
        checks.append(CodeCheck(False, refusal) if refusal else check)
    return _validation(_combine(checks))


def value_set_validate_operation(context: OperationContext) -> OperationResult:
    """`ValueSet/$validate-code` (see the module doc)."""
    inputs.refuse_resource_parameter(context, "valueSet")
    url = context.text("url")
    if url is None:
        raise FhirError(400, error("required", "Parameter url (the value set) is required", "url"))
    candidates = inputs.codings(context, ("system",))
    version = context.text("systemVersion")
    checks = []
    for item in candidates:
        refusal = _version_refusal(item.system, version)
        check = validate_in_value_set(url, item.system, item.code, item.display)
        checks.append(CodeCheck(False, refusal) if refusal else check)
    return _validation(_combine(checks))


def _combine(checks: list[CodeCheck]) -> CodeCheck:
    """One check for a CodeableConcept: valid when one coding is, with every message."""
    valid = next((c for c in checks if c.valid), None)
    messages = [m for c in checks for m in (c.message, c.warning) if m]
    message = "; ".join(dict.fromkeys(messages)) or None
    display = (valid or checks[0]).display
    return CodeCheck(valid is not None, message, display)


def _validation(check: CodeCheck) -> OperationResult:
    # R4 $validate-code: `message` is the error when result is false; "if this is provided
    # when result = true, the message carries hints and warnings" (a wrong display).
    parameters: list[dict[str, Any]] = [{"name": "result", "valueBoolean": check.valid}]
    message = "; ".join(m for m in (check.message, check.warning) if m)
    if message:
        parameters.append({"name": "message", "valueString": message})
    if check.display:
        parameters.append({"name": "display", "valueString": check.display})
    return OperationResult({"resourceType": "Parameters", "parameter": parameters})


def expand_operation(context: OperationContext) -> OperationResult:
    """`ValueSet/$expand` (see the module doc)."""
    inputs.refuse_resource_parameter(context, "valueSet")
    url = context.text("url")
    if url is None:
        raise FhirError(400, error("required", "Parameter url (the value set) is required", "url"))
    text = context.text("filter")
    offset = context.integer("offset", 0, 10**9) or 0
    count = context.integer("count", 0, MAX_COUNT)
    entry = value_sets().get(url)
    if entry is None:
        message = f"The value set {url!r} is not known to this server"
        raise FhirError(404, error("not-found", message, "url"))
    try:
        expansion = expand(url, text)
    except ValueSetError as exc:
        raise FhirError(400, error(exc.code, exc.message, "url")) from exc
    return OperationResult(_expansion_resource(entry.resource, expansion, text, offset, count))


def _expansion_resource(
    resource: dict[str, Any], expansion: Expansion, text: str | None, offset: int, count: int | None
) -> dict[str, Any]:
    """The value set with one page of its expansion (R4 ValueSet.expansion)."""
    page = expansion.concepts[offset : None if count is None else offset + count]
    keys = ("resourceType", "id", "url", "version", "name", "title", "status")
    body: dict[str, Any] = {key: resource[key] for key in keys if key in resource}
    echoed = [("filter", "valueString", text), ("offset", "valueInteger", offset)]
    echoed.append(("count", "valueInteger", count))
    body["expansion"] = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "total": len(expansion.concepts),
        "offset": offset,
        "parameter": [{"name": n, kind: v} for n, kind, v in echoed if v is not None],
        "contains": [_contains(c) for c in page],
    }
    if not expansion.closed:
        body["expansion"]["extension"] = [{"url": UNCLOSED, "valueBoolean": True}]
    return body


def _contains(concept: Concept) -> dict[str, Any]:
    item: dict[str, Any] = {"system": concept.system}
    if concept.version:
        item["version"] = concept.version
    item["code"] = concept.code
    if concept.display:
        item["display"] = concept.display
    return item


def terminology_operations() -> list[Operation]:
    """`CodeSystem/$lookup`, `CodeSystem/$validate-code`, `ValueSet/$validate-code` and
    `ValueSet/$expand`, by GET or POST."""
    return [
        _open_operation(
            "lookup",
            "CodeSystem",
            lookup_operation,
            "Details of a code of a shipped code system.",
            _LOOKUP,
        ),
        _open_operation(
            "validate-code",
            "CodeSystem",
            code_system_validate_operation,
            "Whether a code is in a code system.",
            _CODE_SYSTEM_VALIDATE,
        ),
        _open_operation(
            "validate-code",
            "ValueSet",
            value_set_validate_operation,
            "Whether a code is in a value set.",
            _VALUE_SET_VALIDATE,
        ),
        _open_operation(
            "expand", "ValueSet", expand_operation, "The codes of a shipped value set.", _EXPAND
        ),
    ]


def _open_operation(
    name: str,
    resource_type: str,
    handler: Handler,
    description: str,
    parameters: tuple[Param, ...],
) -> Operation:
    """A type-level terminology operation, by GET or POST, that needs no scope."""
    return Operation(
        name,
        "type",
        resource_type,
        handler,
        permission="",
        methods=("GET", "POST"),
        description=description,
        parameters=parameters,
    )


_CODES: tuple[Param, ...] = (
    ("code", "in", 0, "1", "code"),
    ("display", "in", 0, "1", "string"),
    ("coding", "in", 0, "1", "Coding"),
    ("codeableConcept", "in", 0, "1", "CodeableConcept"),
)
_VALIDATE_OUT: tuple[Param, ...] = (
    ("result", "out", 1, "1", "boolean"),
    ("message", "out", 0, "1", "string"),
    ("display", "out", 0, "1", "string"),
)
_LOOKUP: tuple[Param, ...] = (
    ("system", "in", 0, "1", "uri"),
    ("code", "in", 0, "1", "code"),
    ("version", "in", 0, "1", "string"),
    ("coding", "in", 0, "1", "Coding"),
    ("property", "in", 0, "*", "code"),
    ("name", "out", 1, "1", "string"),
    ("version", "out", 0, "1", "string"),
    ("display", "out", 0, "1", "string"),
    ("designation", "out", 0, "*", "BackboneElement"),
    ("property", "out", 0, "*", "BackboneElement"),
)
_CODE_SYSTEM_VALIDATE: tuple[Param, ...] = (
    ("url", "in", 0, "1", "uri"),
    ("version", "in", 0, "1", "string"),
    *_CODES,
    *_VALIDATE_OUT,
)
_VALUE_SET_VALIDATE: tuple[Param, ...] = (
    ("url", "in", 1, "1", "uri"),
    ("system", "in", 0, "1", "uri"),
    ("systemVersion", "in", 0, "1", "string"),
    *_CODES,
    *_VALIDATE_OUT,
)
_EXPAND: tuple[Param, ...] = (
    ("url", "in", 1, "1", "uri"),
    ("filter", "in", 0, "1", "string"),
    ("offset", "in", 0, "1", "integer"),
    ("count", "in", 0, "1", "integer"),
    ("return", "out", 1, "1", "ValueSet"),
)
