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
from dataclasses import dataclass, replace
from typing import Any

from samhandling.fhir.indexing.composites import Component, composite_keys, composite_rows
from samhandling.fhir.indexing.convert import convert
from samhandling.fhir.indexing.fhirpath import compile_fhirpath
from samhandling.fhir.indexing.paths import Accessor, Item, Unsupported, compile_expression
from samhandling.fhir.indexing.rows import (
    ROW_KINDS,
    CompositeValue,
    DateValue,
    IndexValue,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    ResourceIndex,
    StringValue,
    TextValue,
    TokenValue,
    UriValue,
)
from samhandling.fhir.indexing.text import text_values
from samhandling.fhir.indexing.vital_signs import RESOURCE_TYPE as VITAL_SIGNS_TYPE
from samhandling.fhir.indexing.vital_signs import (
    SHAPE_KEYS,
    DirectParam,
    direct_index,
    direct_plan,
    plain_shape,
)
from samhandling.fhir.search_parameters import (
    SearchParameter,
    SearchParameterRegistry,
    default_registry,
)

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

NOT_INDEXED = frozenset({"_id", "_lastUpdated"})  # written by the store itself


@dataclass(frozen=True, slots=True)
class _ParamPlan:
    parameter: SearchParameter
    accessor: Accessor
    code_system: str | None
    components: tuple[Component, ...] = ()
    # a restriction of another reference parameter (derived_parameters): only its
    # `:identifier` rows are written (its references are the other's), and only where the
    # other has such rows: `<other>:identifier`
    identifiers_of: str | None = None


@dataclass(frozen=True, slots=True)
class _TypePlan:
    params: tuple[_ParamPlan, ...]
    by_key: dict[str, tuple[int, ...]]
    always: frozenset[int]
    component_codes: frozenset[str]  # codes whose rows composites reuse (memoised)
    # the plain vital-signs shape's parameters, extracted directly (`vital_signs`)
    direct: tuple[tuple[DirectParam, str | None], ...] | None = None


class IndexExtractor:
    """Compiles and caches, per resource type, how to extract every parameter's values.

    With ``fast_path=False`` every expression is evaluated by fhirpathpy and every parameter
    is evaluated for every resource — the reference implementation the fast path is tested
    against. With ``every_parameter=True`` the rows of derived parameters
    (``derived_parameters``: ``combo-*``, ``patient``), which the store does not write, are
    extracted too: what every parameter's rows would be, for tests. With ``narrow=False``
    the plain vital-signs Observation (``vital_signs``) takes the generic path too.
    """

    def __init__(
        self,
        registry: SearchParameterRegistry,
        *,
        fast_path: bool = True,
        every_parameter: bool = False,
        narrow: bool = True,
    ) -> None:
        self.registry = registry
        self.fast_path = fast_path
        self.every_parameter = every_parameter
        self.narrow = narrow
        self._plans: dict[str, _TypePlan] = {}
        self._generation = registry.generation
        self._lock = threading.Lock()

    def extract(self, resource: dict[str, Any]) -> ResourceIndex:
        """The index rows of ``resource``; ValueError for an unknown resource type."""
        resource_type = resource.get("resourceType")
        if not isinstance(resource_type, str) or resource_type not in self.registry.resource_types:
            raise ValueError(f"unknown resource type {resource_type!r}")
        plan = self._plan(resource_type)
        if plan.direct is not None and plain_shape(resource):
            return direct_index(plan.direct, resource, resource_type)
        selected = set(plan.always)
        by_key = plan.by_key
        for key in resource:
            hit = by_key.get(key)
            if hit:
                selected.update(hit)
        memo: dict[tuple[Any, ...], tuple[Any, list[IndexValue]]] = {}
        found: list[Any] = []
        root: list[Item] = [(resource, resource_type)]
        params = plan.params
        deferred: list[_ParamPlan] = []
        for index in sorted(selected):
            param_plan = params[index]
            if param_plan.identifiers_of is None:
                found.extend(_param_rows(plan, param_plan, root, resource, memo))
            else:
                deferred.append(param_plan)
        if deferred:
            tokens = {row.param for row in found if isinstance(row, TokenValue)}
            for param_plan in deferred:
                if param_plan.identifiers_of in tokens:
                    rows = _param_rows(plan, param_plan, root, resource, memo)
                    found.extend(row for row in rows if isinstance(row, TokenValue))
        return _resource_index(resource_type, found, text_values(resource))

    def _plan(self, resource_type: str) -> _TypePlan:
        if self._generation != self.registry.generation:
            with self._lock:
                self._plans = {}
                self._generation = self.registry.generation
        plan = self._plans.get(resource_type)
        if plan is None:
            plan = self._build_plan(resource_type)
            self._plans[resource_type] = plan
        return plan

    def _build_plan(self, resource_type: str) -> _TypePlan:
        params: list[_ParamPlan] = []
        by_key: dict[str, list[int]] = {}
        always: set[int] = set()
        parameters = self.registry.for_type(resource_type).values()
        derived = {} if self.every_parameter else self.registry.derived(resource_type)
        # composites last, so that they find their components' rows in the memo
        for parameter in sorted(parameters, key=lambda p: p.type == "composite"):
            derivation = derived.get(parameter.code)
            if derivation is not None and derivation.target_type is None:
                continue  # a union of other parameters: their rows answer it
            compiled = self._compile_param(parameter, resource_type)
            if compiled is None:
                continue
            param_plan, keys = compiled
            if derivation is not None:
                identifiers = f"{derivation.sources[0]}:identifier"
                param_plan = replace(param_plan, identifiers_of=identifiers)
            index = len(params)
            params.append(param_plan)
            if keys is None:
                always.add(index)
            for key in keys or ():
                by_key.setdefault(key, []).append(index)
        component_codes = frozenset(c.code for p in params for c in p.components)
        plan = _TypePlan(
            tuple(params),
            {k: tuple(v) for k, v in by_key.items()},
            frozenset(always),
            component_codes,
        )
        if resource_type != VITAL_SIGNS_TYPE or not (self.narrow and self.fast_path):
            return plan
        if self.every_parameter:
            return plan
        return replace(plan, direct=self._direct_plan(plan))

    def _direct_plan(self, plan: _TypePlan) -> tuple[tuple[DirectParam, str | None], ...] | None:
        """The direct functions of the parameters the vital-signs shape's keys select, in
        the plan's order, or None when the registry's parameters are not the official."""
        selected = set(plan.always)
        for key in SHAPE_KEYS:
            selected.update(plan.by_key.get(key, ()))
        chosen = [plan.params[index] for index in sorted(selected)]
        return direct_plan([(p.parameter, p.code_system, p.identifiers_of) for p in chosen])

    def _compile_param(
        self, parameter: SearchParameter, resource_type: str
    ) -> tuple[_ParamPlan, frozenset[str] | None] | None:
        expression = parameter.expression
        if not expression or parameter.type == "special" or parameter.code in NOT_INDEXED:
            return None
        accessor, keys, output_type = self._compile(expression, resource_type, resource_type)
        code_system = parameter.code_system_for(resource_type)
        if parameter.type != "composite":
            return _ParamPlan(parameter, accessor, code_system), keys
        components = self._components(parameter, resource_type, output_type)
        if components is None:
            return None
        if keys is None and self.fast_path:
            keys = composite_keys(parameter, resource_type)
        return _ParamPlan(parameter, accessor, None, components), keys

    def _compile(
        self, expression: str, input_type: str | None, resource_type: str | None
    ) -> tuple[Accessor, frozenset[str] | None, str | None]:
        if self.fast_path:
            try:
                compiled = compile_expression(expression, input_type)
            except Unsupported:
                pass
            else:
                return compiled.accessor, compiled.trigger_keys, compiled.output_type
        return compile_fhirpath(expression, resource_type), None, None

    def _components(
        self, parameter: SearchParameter, resource_type: str, base_type: str | None
    ) -> tuple[Component, ...] | None:
        components = []
        for definition, expression in parameter.components:
            target = self.registry.by_url(definition)
            if target is None:
                return None
            accessor, _, _ = self._compile(expression, base_type, None)
            code_system = target.code_system_for(resource_type)
            components.append(Component(target.code, target.type, accessor, code_system))
        return tuple(components)


def _param_rows(
    plan: _TypePlan,
    param_plan: _ParamPlan,
    root: list[Item],
    resource: dict[str, Any],
    memo: dict[Any, Any],
) -> list[Any]:
    items = param_plan.accessor(root, resource)
    if not items:
        return []
    parameter = param_plan.parameter
    code = parameter.code
    if param_plan.components:
        return composite_rows(code, param_plan.components, items, resource, memo)
    memo_used = memo if code in plan.component_codes else None
    return convert(parameter.type, code, items, param_plan.code_system, memo_used)


def _resource_index(
    resource_type: str, rows: list[Any], texts: tuple[TextValue, ...]
) -> ResourceIndex:
    buckets: dict[type, list[Any]] = {kind: [] for kind in ROW_KINDS}
    for row in rows:
        buckets[type(row)].append(row)
    tokens, strings, dates, numbers, quantities, references, uris, composites = (
        tuple(dict.fromkeys(b) if len(b) > 1 else b) for b in buckets.values()
    )  # ROW_KINDS's order
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
