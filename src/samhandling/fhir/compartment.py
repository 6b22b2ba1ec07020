"""Patient-compartment membership, per the official R4 Patient CompartmentDefinition.

A resource belongs to the compartment of every Patient that one of its compartment
parameters (e.g. Observation: ``subject``, ``performer``) references; a Patient belongs to its
own compartment, and — by its ``link`` parameter — to those of the patients it links to.
Only relative ``Patient/<id>`` references count (absolute URLs name other servers);
``urn:uuid`` references must be rewritten to ``Patient/<id>`` by the caller first.

The definition is packaged as ``definitions/r4-patient-compartment.json.gz`` (built by
``tools/build_search_definitions.py``): 145 resource types, 66 of them with parameters.
"""

from __future__ import annotations

import gzip
import json
import re
import weakref
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from samhandling.fhir.derived_parameters import row_answers
from samhandling.fhir.indexing.convert import convert
from samhandling.fhir.indexing.fhirpath import compile_fhirpath
from samhandling.fhir.indexing.paths import Accessor, Item, Unsupported, compile_expression
from samhandling.fhir.indexing.rows import ReferenceValue
from samhandling.fhir.indexing.values import ResourceIndex
from samhandling.fhir.search_parameters import (
    SearchParameter,
    SearchParameterRegistry,
    default_registry,
)

__all__ = [
    "compartment_elements",
    "compartment_params",
    "compartment_resource_types",
    "patient_compartment_ids",
]

_DEFINITION = "r4-patient-compartment.json.gz"


@cache
def _definition() -> Mapping[str, tuple[str, ...]]:
    package = resources.files("samhandling.fhir.definitions")
    data = json.loads(gzip.decompress(package.joinpath(_DEFINITION).read_bytes()))
    return {name: tuple(params) for name, params in data["resources"].items()}


def compartment_params(resource_type: str) -> tuple[str, ...]:
    """The parameters linking ``resource_type`` to the Patient compartment; () if none."""
    return _definition().get(resource_type, ())


def compartment_resource_types() -> frozenset[str]:
    """Resource types that can be in a Patient compartment (those with parameters)."""
    return frozenset(name for name, params in _definition().items() if params)


def compartment_elements(
    resource_type: str, registry: SearchParameterRegistry | None = None
) -> frozenset[str]:
    """The top-level elements ``patient_compartment_ids`` reads of a ``resource_type``
    resource (besides ``resourceType`` and, for a Patient, ``id``): those its compartment
    parameters' expressions start from (``Observation.subject.where(…)``: ``subject``).
    Remembered per registry state (a custom SearchParameter may change an expression)."""
    registry = registry or default_registry()
    key = (registry.generation, resource_type)
    cache = _ELEMENTS.setdefault(registry, {})
    found = cache.get(key)
    if found is None:
        root = re.compile(rf"(?<![\w.]){re.escape(resource_type)}\.(\w+)")
        expressions = [p.expression or "" for p in _compartment_parameters(registry, resource_type)]
        found = frozenset(name for text in expressions for name in root.findall(text))
        cache[key] = found
    return found


_ELEMENTS: weakref.WeakKeyDictionary[
    SearchParameterRegistry, dict[tuple[int, str], frozenset[str]]
] = weakref.WeakKeyDictionary()


def patient_compartment_ids(
    resource: dict[str, Any],
    index: ResourceIndex | None = None,
    registry: SearchParameterRegistry | None = None,
) -> frozenset[str]:
    """Ids of the Patients whose compartment ``resource`` belongs to.

    Pass the resource's ``ResourceIndex`` when it has been extracted already: the reference
    rows are then reused instead of evaluating the compartment parameters again.
    """
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return frozenset()
    ids: set[str] = set()
    if resource_type == "Patient" and isinstance(resource.get("id"), str):
        ids.add(resource["id"])
    params = compartment_params(resource_type)
    if not params:
        return frozenset(ids)
    registry = registry or default_registry()
    if index is not None:
        answers = _compartment_rows(registry, resource_type)
        rows = [row for row in index.references if answers(row.param, row.target_type)]
    else:
        rows = _reference_rows(resource, resource_type, registry)
    ids.update(
        row.target_id
        for row in rows
        if row.target_type == "Patient" and row.target_id is not None and row.url is None
    )
    return frozenset(ids)


#: per registry: (its generation, resource type, row param, row target type) -> whether
#: such a reference row is one of the type's compartment parameters' rows
_ANSWERS: weakref.WeakKeyDictionary[
    SearchParameterRegistry, dict[tuple[int, str, str, str | None], bool]
] = weakref.WeakKeyDictionary()


def _compartment_rows(
    registry: SearchParameterRegistry, resource_type: str
) -> Callable[[str, str | None], bool]:
    """Whether a reference row (its param and target type) of a `resource_type` resource
    is a row of one of its compartment parameters, which may be derived (Condition
    `patient`: `subject` rows). Remembered per registry state (a custom SearchParameter
    may change a derivation): asked for every reference row of every resource written,
    params × rows calls of `row_answers` were ≈ 4% of a Synthea ingest's CPU."""
    known = _ANSWERS.get(registry)
    if known is None:
        known = _ANSWERS.setdefault(registry, {})
    generation = registry.generation

    def answers(param: str, target_type: str | None) -> bool:
        key = (generation, resource_type, param, target_type)
        found = known.get(key)
        if found is None:
            derived = registry.derived(resource_type)
            params = compartment_params(resource_type)
            found = any(row_answers(p, derived.get(p), param, target_type) for p in params)
            known[key] = found
        return found

    return answers


def _reference_rows(
    resource: dict[str, Any], resource_type: str, registry: SearchParameterRegistry
) -> list[ReferenceValue]:
    rows: list[ReferenceValue] = []
    root: list[Item] = [(resource, resource_type)]
    for code, accessor in _accessors(registry, registry.generation, resource_type):
        items = accessor(root, resource)
        if items:
            rows.extend(
                r for r in convert("reference", code, items) if isinstance(r, ReferenceValue)
            )
    return rows


_ACCESSORS: weakref.WeakKeyDictionary[
    SearchParameterRegistry, dict[tuple[int, str], tuple[tuple[str, Accessor], ...]]
] = weakref.WeakKeyDictionary()


def _accessors(
    registry: SearchParameterRegistry, generation: int, resource_type: str
) -> tuple[tuple[str, Accessor], ...]:
    """Compiled compartment parameters of ``resource_type`` (cached per registry state)."""
    cache = _ACCESSORS.get(registry)
    if cache is None:
        cache = _ACCESSORS.setdefault(registry, {})
    found = cache.get((generation, resource_type))
    if found is not None:
        return found
    compiled = []
    for parameter in _compartment_parameters(registry, resource_type):
        code, expression = parameter.code, parameter.expression or ""
        try:
            accessor = compile_expression(expression, resource_type).accessor
        except Unsupported:
            accessor = compile_fhirpath(expression, resource_type)
        compiled.append((code, accessor))
    cache[(generation, resource_type)] = result = tuple(compiled)
    return result


def _compartment_parameters(
    registry: SearchParameterRegistry, resource_type: str
) -> list[SearchParameter]:
    """The compartment parameters of ``resource_type`` that the walk evaluates: reference
    parameters with an expression."""
    found = (registry.get(resource_type, code) for code in compartment_params(resource_type))
    return [p for p in found if p is not None and p.type == "reference" and p.expression]
