"""The plain vital-signs Observation, extracted without the generic machinery (issue #20).

Measurement systems post Observations of one narrow shape (a code, a category, a subject,
an effective time, a quantity or a panel's components, an identifier and a device;
Synthea's vital signs add an encounter, `issued` and `meta.profile`). For such a resource
the generic extractor (`values.IndexExtractor`) evaluates each selected parameter through
compiled path closures, converts its items by dispatching on their types and memoises the
composites' component rows; here each parameter of the shape is one direct function that
calls the **same** converters (`convert._codeable_concept`, `_identifier`, `_quantity`,
`_reference_value`, `_date_range`) on the elements the paths would have selected, with the
types they would have given them. So the rows are those of the generic extractor, in the
same order (property tests: `tests/fhir/indexing/test_vital_signs_extraction.py`, over
generated vital signs, the official examples and Synthea).

Two gates keep it exact; anything else takes the generic path:

* **the registry** (`direct_plan`): every parameter the generic plan would select for the
  shape's keys must have a direct function here and be the official R4 definition (a
  custom SearchParameter on Observation, or one that replaces an official one, turns it off);
* **the resource** (`plain_shape`): only the keys below, each of the JSON type the
  functions assume (a list of objects, an object, a string), and none of the elements that
  would select other parameters (`meta.tag`, a subject's `identifier`, a component's
  `dataAbsentReason`, …).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from samhandling.fhir.indexing.convert import (
    _codeable_concept,
    _date_range,
    _identifier,
    _quantity,
    _reference_value,
)
from samhandling.fhir.indexing.rows import (
    ROW_KINDS,
    CompositeValue,
    DateValue,
    QuantityValue,
    ResourceIndex,
    TokenValue,
    UriValue,
)
from samhandling.fhir.indexing.text import text_values
from samhandling.fhir.search_parameters import SearchParameter, SearchParameterRegistry

__all__ = ["DirectParam", "direct_index", "direct_plan", "plain_shape"]

Rows = list[Any]
# (the plan's code system of the parameter, the resource, the rows to append to)
DirectParam = Callable[[str | None, dict[str, Any], Rows], None]

RESOURCE_TYPE = "Observation"
_LISTS = frozenset({"identifier", "category", "component"})  # each a list of objects
_OBJECTS = frozenset({"code", "subject", "encounter", "device", "valueQuantity", "meta"})
_STRINGS = frozenset({"resourceType", "id", "status", "effectiveDateTime", "issued"})
SHAPE_KEYS = _LISTS | _OBJECTS | _STRINGS
_META_KEYS = frozenset({"versionId", "lastUpdated", "profile"})
_COMPONENT_KEYS = frozenset({"code", "valueQuantity"})


def plain_shape(resource: dict[str, Any]) -> bool:
    """Whether `resource` (an Observation) has the plain vital-signs shape."""
    for key, value in resource.items():
        kind = type(value)
        if key in _STRINGS:
            if kind is not str:
                return False
        elif key in _OBJECTS:
            if kind is not dict:
                return False
        elif key not in _LISTS or kind is not list or not _objects(value):
            return False
    meta = resource.get("meta")
    if meta is not None and not (meta.keys() <= _META_KEYS and _strings(meta.get("profile", []))):
        return False
    if "identifier" in resource.get("subject", ()):
        return False  # the derived `patient` parameter's `:identifier` rows
    return all(
        c.keys() <= _COMPONENT_KEYS and all(type(v) is dict for v in c.values())
        for c in resource.get("component", ())
    )


def _objects(values: list[Any]) -> bool:
    return all(type(value) is dict for value in values)


def _strings(values: Any) -> bool:
    return type(values) is list and all(type(value) is str for value in values)


# --- one function per parameter the shape can select --------------------------------------


def _nothing(_: str | None, resource: dict[str, Any], out: Rows) -> None:
    """A parameter whose elements the shape excludes (e.g. `_tag`: no `meta.tag`)."""


def _category(_: str | None, resource: dict[str, Any], out: Rows) -> None:
    for concept in resource.get("category", ()):
        out += _concept("category", concept)


def _code(_: str | None, resource: dict[str, Any], out: Rows) -> None:
    concept = resource.get("code")
    if concept is not None:
        out += _concept("code", concept)


def _component_code(_: str | None, resource: dict[str, Any], out: Rows) -> None:
    for component in resource.get("component", ()):
        concept = component.get("code")
        if concept is not None:
            out += _concept("component-code", concept)


def _component_value_quantity(_: str | None, resource: dict[str, Any], out: Rows) -> None:
    for component in resource.get("component", ()):
        quantity = component.get("valueQuantity")
        row = None if quantity is None else _quantity_row("component-value-quantity", quantity)
        if row is not None:
            out.append(row)


def _date(_: str | None, resource: dict[str, Any], out: Rows) -> None:
    text = resource.get("effectiveDateTime")
    low = _utc_second(text)
    if low is not None:
        out.append(DateValue("date", low, low + _SECOND))
        return
    found = _date_range(text)
    if found is not None:
        out.append(DateValue("date", found[0], found[1]))


_SECOND = timedelta(seconds=1)


def _utc_second(text: Any) -> datetime | None:
    """The start of a `YYYY-MM-DDThh:mm:ssZ` (a measurement's usual time; each is new, so
    `fhir_dates.parse_date`'s cache seldom has it: ≈ 3× its cost) as that gives it, or None
    for any other text, which it then parses. Years 1000–9998 only (no clamping at the
    ends); a leap second, `24:00` or 30 February are left to it too."""
    if type(text) is not str or len(text) != 20 or text[4::3] != "--T::Z":
        return None
    digits = text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]
    if not (digits.isascii() and digits.isdigit() and "1000" <= digits[:4] <= "9998"):
        return None
    try:
        return datetime.fromisoformat(text)  # in C; UTC for the Z
    except ValueError:
        return None


def _reference(param: str) -> DirectParam:
    def reference(_: str | None, resource: dict[str, Any], out: Rows) -> None:
        value = resource.get(param)
        if value is not None:
            out += _reference_rows(param, value)

    return reference


def _identifiers(_: str | None, resource: dict[str, Any], out: Rows) -> None:
    for identifier in resource.get("identifier", ()):  # one per measurement: not remembered
        _identifier("identifier", identifier, out)


def _status(code_system: str | None, resource: dict[str, Any], out: Rows) -> None:
    status = resource.get("status")
    if status is not None:
        key = ("status", "token", code_system, status)
        row = _REMEMBERED.get(key)
        if row is None:
            row = _remember(key, TokenValue("status", code_system, status, None))
        out.append(row)


def _value_quantity(_: str | None, resource: dict[str, Any], out: Rows) -> None:
    quantity = resource.get("valueQuantity")
    row = None if quantity is None else _quantity_row("value-quantity", quantity)
    if row is not None:
        out.append(row)


def _profile(_: str | None, resource: dict[str, Any], out: Rows) -> None:
    for uri in resource.get("meta", {}).get("profile", ()):
        if uri:
            out.append(UriValue("_profile", uri))


def _code_value_quantity(_: str | None, resource: dict[str, Any], out: Rows) -> None:
    _composite("code-value-quantity", resource, ("code", "value-quantity"), out)


def _component_code_value_quantity(_: str | None, resource: dict[str, Any], out: Rows) -> None:
    params = ("component-code", "component-value-quantity")
    for component in resource.get("component", ()):
        _composite("component-code-value-quantity", component, params, out)


def _composite(param: str, element: dict[str, Any], params: tuple[str, str], out: Rows) -> None:
    """`composites.composite_rows` for one repetition of a (code, quantity) composite: the
    code's token rows that have a code, without repeats, each with the quantity's row."""
    concept, quantity = element.get("code"), element.get("valueQuantity")
    if concept is None or quantity is None:
        return
    codes = [row for row in _concept(params[0], concept) if row.code is not None]
    value = _quantity_row(params[1], quantity)
    if not codes or value is None:
        return
    for code in dict.fromkeys(codes) if len(codes) > 1 else codes:
        out.append(CompositeValue(param, (code, value)))


def direct_index(
    direct: tuple[tuple[DirectParam, str | None], ...], resource: dict[str, Any], rtype: str
) -> ResourceIndex:
    """`values._resource_index` of the direct functions' rows. Rows of two parameters are
    never equal (their `param` differs), so repeats are dropped per parameter, and only
    where one gave several rows: the same rows and order, without hashing every row."""
    found: list[Any] = []
    for function, code_system in direct:
        start = len(found)
        function(code_system, resource, found)
        if len(found) - start > 1:
            found[start:] = dict.fromkeys(found[start:])
    buckets: dict[type, list[Any]] = {kind: [] for kind in ROW_KINDS}
    for row in found:
        buckets[type(row)].append(row)
    tokens, strings, dates, numbers, quantities, references, uris, composites = map(
        tuple, buckets.values()
    )  # ROW_KINDS's order
    return ResourceIndex(
        rtype, tokens, strings, dates, numbers, quantities, references, uris, composites,
        text_values(resource),
    )  # fmt: skip


# --- rows remembered across resources ------------------------------------------------------
# The same code, category, subject, device and value recur in every batch. A row is frozen
# (shared safely), and remembered under the values its converter reads, as they are: equal
# keys give equal rows because the converters look only at whether a value is a string and
# at the string (a non-string is None to them), except numbers, whose key has their type
# and which are remembered only where equal numbers print alike (not -0.0, not Decimal).
# A key is the parameter, the converter's name and the values it reads.

_REMEMBERED: dict[tuple[Any, ...], Any] = {}
REMEMBERED_MAX = 16_384  # then forgotten all at once: the keys are the clients' values


def _remember(key: tuple[Any, ...], rows: Any) -> Any:
    if len(_REMEMBERED) >= REMEMBERED_MAX:
        _REMEMBERED.clear()
    _REMEMBERED[key] = rows
    return rows


def _concept(param: str, concept: dict[str, Any]) -> Rows:
    """`convert._codeable_concept`'s rows of `concept` (a list: the caller may not change it)."""
    key: list[Any] = [param, "concept", concept.get("text")]
    codings = concept.get("coding", ())
    if type(codings) is not list and codings != ():
        return _concept_now(param, concept)
    for coding in codings:
        if type(coding) is not dict:
            return _concept_now(param, concept)
        key += (coding.get("system"), coding.get("code"), coding.get("display"))
    try:
        found: Rows | None = _REMEMBERED.get(tuple(key))
    except TypeError:  # an array or object where a string belongs
        return _concept_now(param, concept)
    if found is None:
        found = _remember(tuple(key), _concept_now(param, concept))
    return found


def _concept_now(param: str, concept: dict[str, Any]) -> Rows:
    rows: Rows = []
    _codeable_concept(param, concept, rows)
    return rows


def _quantity_row(param: str, quantity: dict[str, Any]) -> QuantityValue | None:
    """`convert._quantity` of a Quantity."""
    number = quantity.get("value")
    kind = type(number)
    if not (kind is int or (kind is float and number)):
        return _quantity(param, quantity, False)
    key = (
        param,
        "quantity",
        kind,
        number,
        quantity.get("system"),
        quantity.get("code"),
        quantity.get("unit"),
    )
    try:
        found = _REMEMBERED.get(key, False)
    except TypeError:
        return _quantity(param, quantity, False)
    if found is False:
        found = _remember(key, _quantity(param, quantity, False))
    return found


def _reference_rows(param: str, value: dict[str, Any]) -> Rows:
    """`convert._reference_value`'s rows of a Reference."""
    identifier = value.get("identifier")
    if "resourceType" in value or not (identifier is None or type(identifier) is dict):
        return _reference_now(param, value)
    key = (
        param,
        "reference",
        value.get("reference"),
        identifier is None,
        identifier and identifier.get("system"),
        identifier and identifier.get("value"),
    )
    try:
        found: Rows | None = _REMEMBERED.get(key)
    except TypeError:
        return _reference_now(param, value)
    if found is None:
        found = _remember(key, _reference_now(param, value))
    return found


def _reference_now(param: str, value: dict[str, Any]) -> Rows:
    rows: Rows = []
    _reference_value(param, value, "Reference", None, rows)
    return rows


_DIRECT: dict[str, DirectParam] = {
    "_profile": _profile,
    "_security": _nothing,  # meta.security: not in the shape
    "_source": _nothing,
    "_tag": _nothing,
    "category": _category,
    "code": _code,
    "component-code": _component_code,
    "component-data-absent-reason": _nothing,  # a component has code and valueQuantity only
    "component-value-concept": _nothing,
    "component-value-quantity": _component_value_quantity,
    "date": _date,
    "device": _reference("device"),
    "encounter": _reference("encounter"),
    "identifier": _identifiers,
    "patient": _nothing,  # derived: only its `:identifier` rows, none without the subject's
    "status": _status,
    "subject": _reference("subject"),
    "value-quantity": _value_quantity,
    "code-value-quantity": _code_value_quantity,
    "component-code-value-concept": _nothing,
    "component-code-value-quantity": _component_code_value_quantity,
}
# the derived parameter whose rows the generic plan writes only after the others'
_DEFERRED = {"patient": "subject:identifier"}


def direct_plan(
    selected: list[tuple[SearchParameter, str | None, str | None]],
) -> tuple[tuple[DirectParam, str | None], ...] | None:
    """The direct functions for `selected` (the generic plan's parameters the shape's keys
    select, in its order: parameter, code system, `identifiers_of`), or None when one of
    them is not an official R4 parameter with a function here."""
    official = _official()
    plan = []
    for parameter, code_system, identifiers_of in selected:
        function = _DIRECT.get(parameter.code)
        if function is None or official.get(RESOURCE_TYPE, parameter.code) != parameter:
            return None
        if identifiers_of != _DEFERRED.get(parameter.code):
            return None
        plan.append((function, code_system))
    return tuple(plan)


@cache
def _official() -> SearchParameterRegistry:
    return SearchParameterRegistry.official()
