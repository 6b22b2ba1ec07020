"""Index-value extraction: the typed rows a resource is indexed by, for every parameter.

``extract_index_values(resource)`` evaluates every search parameter of the resource's type
(see ``SearchParameterRegistry.for_type``) and returns a ``ResourceIndex`` of rows for the
store's narrow index tables. Decisions, documented once here:

* **Not extracted:** ``_id`` and ``_lastUpdated`` (the store writes them), ``_query`` and
  ``special`` parameters (``near``: needs geometry). ``_tag``, ``_security`` (tokens),
  ``_profile`` and ``_source`` (uris) are. ``_text`` and ``_content`` have no expression:
  their full-text rows (``ResourceIndex.texts``) come from ``text``. Nor are the rows of
  *derived* parameters (``fhir/derived_parameters.py``: ``combo-*``, ``patient``), which
  search reads from their sources' rows; a restriction's ``:identifier`` rows are kept.
* **Tokens** (``TokenValue``): Coding -> system, code, folded display; CodeableConcept -> one
  row per coding plus a text-only row (system and code None) for ``CodeableConcept.text``;
  Identifier -> system, value, folded ``type.text``; ContactPoint -> value only (R4: the
  system is not used); boolean -> ``true``/``false``; ``code`` -> the implicit code system of
  its required binding when it has exactly one, else None; other primitives -> the value.
* **``:of-type``**: each Identifier with a value also gives, per ``type.coding``, a row
  ``TokenValue("<param>:of-type", type system, "<type code>|<value>", None)``, so
  ``identifier:of-type=sys|MR|123`` is a plain token lookup of ``sys`` / ``MR|123``.
* **Identifier references**: ``Reference.identifier`` gives
  ``TokenValue("<param>:identifier", system, value, None)`` (for ``:identifier`` searches)
  besides any ``ReferenceValue`` of ``Reference.reference``. Parameter codes never contain a
  colon, so these rows cannot collide with a real parameter.
* **References** (``ReferenceValue``): see ``indexing.references``; local ``#id`` references
  are not indexed; ``Bundle.entry[0].resource`` (Bundle ``composition``/``message``) gives
  the embedded resource's type and id.
* **Strings**: HumanName -> family, given, prefix, suffix, text; Address -> line, city,
  district, state, postalCode, country, text (R4 §3.1.1.4.7); ``normalized`` is ``fold()``.
* **Dates**: ``fhir_dates`` ranges (``Europe/Oslo`` for values without a zone); Period open
  ends are ``MIN_DATETIME``/``MAX_DATETIME``; Timing -> one range over the outer limits of its
  events and ``repeat.boundsPeriod``.
* **Numbers and quantities**: ``[low, high)`` is half a unit of the last written digit
  (``100`` -> [99.5, 100.5)); a JSON float keeps the digits of its shortest repr, so
  ``100.00`` parsed as a float counts as ``100.0``. Quantity comparators are ignored; units
  are not canonicalised; Money -> system ``urn:iso:std:iso:4217``, code = currency; Range ->
  ``value`` None with its bounds; SampledData is not indexed.
* **Composites**: one ``CompositeValue`` per combination of component values taken from the
  same repetition of the base (R4 §3.1.1.4.10); text-only token rows do not take part.
* **Malformed values** (a bad date, a string where a number belongs) are skipped without an
  exception: validation happens before indexing and is not repeated here.
* Rows are de-duplicated per resource; their order is deterministic. The reference rows can
  be handed to ``compartment.patient_compartment_ids(resource, index)`` to avoid evaluating
  the compartment parameters twice on the write path.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any

from samhandling.fhir.indexing.convert import convert
from samhandling.fhir.indexing.memo import ContentMemo, Recurrence, json_key
from samhandling.fhir.indexing.paths import Item
from samhandling.fhir.indexing.plans import NOT_INDEXED, ParamPlan, TypePlan, build_plan
from samhandling.fhir.indexing.rows import (
    CompositeValue,
    DateValue,
    IndexValue,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    StringValue,
    TextValue,
    TokenValue,
    UriValue,
)
from samhandling.fhir.indexing.text import element_words, text_values
from samhandling.fhir.search_parameters import SearchParameterRegistry, default_registry

__all__ = [
    "NOT_INDEXED",
    "CompositeValue",
    "DateValue",
    "IndexExtractor",
    "IndexValue",
    "NumberValue",
    "QuantityValue",
    "ReferenceValue",
    "ResourceIndex",
    "StringValue",
    "TokenValue",
    "UriValue",
    "extract_index_values",
]


@dataclass(frozen=True, slots=True)
class ResourceIndex:
    """All index rows of one resource, by kind."""

    resource_type: str
    tokens: tuple[TokenValue, ...] = ()
    strings: tuple[StringValue, ...] = ()
    dates: tuple[DateValue, ...] = ()
    numbers: tuple[NumberValue, ...] = ()
    quantities: tuple[QuantityValue, ...] = ()
    references: tuple[ReferenceValue, ...] = ()
    uris: tuple[UriValue, ...] = ()
    composites: tuple[CompositeValue, ...] = ()
    texts: tuple[TextValue, ...] = ()  # full text (text.py), not part of rows()

    def rows(self) -> Iterator[IndexValue | CompositeValue]:
        """Every row, tokens first and composites last."""
        for group in (self.tokens, self.strings, self.dates, self.numbers):
            yield from group
        for other in (self.quantities, self.references, self.uris, self.composites):
            yield from other

    def params(self) -> frozenset[str]:
        """Codes (incl. ``:of-type``/``:identifier`` forms) that have at least one row."""
        return frozenset(row.param for row in self.rows())


_ALL_KINDS = (
    TokenValue,
    StringValue,
    DateValue,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    UriValue,
    CompositeValue,
)


class IndexExtractor:
    """Compiles and caches, per resource type, how to extract every parameter's values.

    With ``fast_path=False`` every expression is evaluated by fhirpathpy and every parameter
    is evaluated for every resource — the reference implementation the fast path is tested
    against. With ``every_parameter=True`` the rows of derived parameters
    (``derived_parameters``: ``combo-*``, ``patient``), which the store does not write, are
    extracted too: what every parameter's rows would be, for tests.
    """

    def __init__(
        self,
        registry: SearchParameterRegistry,
        *,
        fast_path: bool = True,
        every_parameter: bool = False,
        remember: bool = True,
    ) -> None:
        self.registry = registry
        self.fast_path = fast_path
        self.every_parameter = every_parameter
        # rows and words by their elements' JSON text (`memo`; False: convert every time)
        self.remember = remember and fast_path
        self._plans: dict[str, TypePlan] = {}
        self._selections = ContentMemo(1024)  # (type, keys) -> _Selection
        self._content = ContentMemo()
        self._recurring = Recurrence()
        self._generation = registry.generation
        self._lock = threading.Lock()

    def extract(self, resource: dict[str, Any]) -> ResourceIndex:
        """The index rows of ``resource``; ValueError for an unknown resource type."""
        resource_type = resource.get("resourceType")
        if not isinstance(resource_type, str) or resource_type not in self.registry.resource_types:
            raise ValueError(f"unknown resource type {resource_type!r}")
        plan = self._plan(resource_type)
        selection = self._selection(plan, resource_type, resource)
        memo: dict[tuple[Any, ...], tuple[Any, list[IndexValue]]] = {}
        found: list[Any] = []
        root: list[Item] = [(resource, resource_type)]
        texts = _ElementTexts(resource) if self.remember else None
        for param_plan in selection.now:
            found.extend(self._rows(plan, param_plan, root, resource, memo, texts))
        if selection.deferred:
            tokens = {row.param for row in found if isinstance(row, TokenValue)}
            for param_plan in selection.deferred:
                if param_plan.identifiers_of in tokens:
                    rows = self._rows(plan, param_plan, root, resource, memo, texts)
                    found.extend(row for row in rows if isinstance(row, TokenValue))
        words = None if texts is None else self._element_words(resource_type, texts)
        return _resource_index(resource_type, found, text_values(resource, words))

    def _selection(
        self, plan: TypePlan, resource_type: str, resource: dict[str, Any]
    ) -> _Selection:
        """The parameters to evaluate for a resource with these top-level keys (the same
        few shapes recur: remembered)."""
        shape = (resource_type, *resource)
        selection: _Selection | None = self._selections.get(shape)
        if selection is not None and selection.plan is plan:
            return selection
        selected = set(plan.always)
        by_key = plan.by_key
        for key in resource:
            hit = by_key.get(key)
            if hit:
                selected.update(hit)
        chosen = [plan.params[index] for index in sorted(selected)]
        selection = _Selection(
            plan,
            tuple(p for p in chosen if p.identifiers_of is None),
            tuple(p for p in chosen if p.identifiers_of is not None),
        )
        self._selections.put(shape, selection)
        return selection

    def _rows(
        self,
        plan: TypePlan,
        param_plan: ParamPlan,
        root: list[Item],
        resource: dict[str, Any],
        memo: dict[Any, Any],
        texts: _ElementTexts | None,
    ) -> Any:
        """The parameter's rows; remembered by its inputs' JSON text when they are known
        and their values recur (`memo.Recurrence`)."""
        inputs = param_plan.inputs
        if texts is None or inputs is None or not self._recurring.worth(param_plan):
            return _param_rows(plan, param_plan, root, resource, memo)
        key: tuple[Any, ...] = (param_plan, *map(texts.__getitem__, inputs))
        if None in key:
            return _param_rows(plan, param_plan, root, resource, memo)
        rows = self._content.get(key)
        self._recurring.note(param_plan, rows is not None)
        if rows is None:
            rows = tuple(_param_rows(plan, param_plan, root, resource, memo))
            self._content.put(key, rows)
        return rows

    def _element_words(
        self, resource_type: str, texts: _ElementTexts
    ) -> Callable[[str, Any], tuple[str, ...]]:
        content, recurring = self._content, self._recurring

        def words(key: str, value: Any) -> tuple[str, ...]:
            element = (resource_type, key)
            text = texts[key] if recurring.worth(element) else None
            if text is None:
                return element_words(value)
            found: tuple[str, ...] | None = content.get(text)
            recurring.note(element, found is not None)
            if found is None:
                found = element_words(value)
                content.put(text, found)
            return found

        return words

    def _plan(self, resource_type: str) -> TypePlan:
        if self._generation != self.registry.generation:
            with self._lock:
                self._plans = {}
                self._generation = self.registry.generation
        plan = self._plans.get(resource_type)
        if plan is None:
            plan = build_plan(
                self.registry,
                resource_type,
                fast_path=self.fast_path,
                every_parameter=self.every_parameter,
            )
            self._plans[resource_type] = plan
        return plan


@dataclass(frozen=True, slots=True)
class _Selection:
    plan: TypePlan
    now: tuple[ParamPlan, ...]
    deferred: tuple[ParamPlan, ...]  # restrictions: after the rows they depend on


class _ElementTexts(dict[str, bytes | None]):
    """The JSON text of each top-level element of a resource, made when first asked for."""

    def __init__(self, resource: dict[str, Any]) -> None:
        super().__init__()
        self.resource = resource

    def __missing__(self, key: str) -> bytes | None:
        text = self[key] = json_key(self.resource.get(key))
        return text


def _param_rows(
    plan: TypePlan,
    param_plan: ParamPlan,
    root: list[Item],
    resource: dict[str, Any],
    memo: dict[Any, Any],
) -> list[Any]:
    items = param_plan.accessor(root, resource)
    if not items:
        return []
    if param_plan.components:
        return _composite_rows(param_plan, items, resource, memo)
    parameter = param_plan.parameter
    code = parameter.code
    memo_used = memo if code in plan.component_codes else None
    return convert(parameter.type, code, items, param_plan.code_system, memo_used)


def _resource_index(
    resource_type: str, rows: list[Any], texts: tuple[TextValue, ...]
) -> ResourceIndex:
    buckets: dict[type, list[Any]] = {kind: [] for kind in _ALL_KINDS}
    for row in rows:
        buckets[type(row)].append(row)
    tokens, strings, dates, numbers, quantities, references, uris, composites = (
        tuple(dict.fromkeys(b) if len(b) > 1 else b) for b in buckets.values()
    )  # _ALL_KINDS's order
    return ResourceIndex(
        resource_type,
        tokens,
        strings,
        dates,
        numbers,
        quantities,
        references,
        uris,
        composites,
        texts,
    )


def _composite_rows(
    plan: ParamPlan, items: list[Any], root: dict[str, Any], memo: dict[Any, Any]
) -> list[CompositeValue]:
    out: list[CompositeValue] = []
    for item in items:
        selected = []
        for component in plan.components:  # select all first: conversion costs more
            values = component.accessor([item], root)
            if not values:
                break
            selected.append(values)
        else:
            parts: list[list[IndexValue]] = []
            for component, values in zip(plan.components, selected, strict=True):
                rows = [
                    row
                    for row in convert(
                        component.type, component.code, values, component.code_system, memo
                    )
                    if row.param == component.code
                    and not (isinstance(row, TokenValue) and row.code is None)
                ]
                if not rows:
                    break
                parts.append(list(dict.fromkeys(rows)) if len(rows) > 1 else rows)
            else:
                code = plan.parameter.code
                out.extend(CompositeValue(code, combination) for combination in product(*parts))
    return out


_EXTRACTORS: weakref.WeakKeyDictionary[SearchParameterRegistry, IndexExtractor] = (
    weakref.WeakKeyDictionary()
)


def extract_index_values(
    resource: dict[str, Any], registry: SearchParameterRegistry | None = None
) -> ResourceIndex:
    """Index rows of ``resource`` for every parameter of its type (default registry)."""
    registry = registry or default_registry()
    extractor = _EXTRACTORS.get(registry)
    if extractor is None:
        extractor = _EXTRACTORS.setdefault(registry, IndexExtractor(registry))
    return extractor.extract(resource)
