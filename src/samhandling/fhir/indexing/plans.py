"""Per resource type, how every search parameter's rows are extracted (``values``).

A ``TypePlan`` holds one ``ParamPlan`` per indexed parameter: its compiled accessor (the
fast path of ``paths``, else fhirpathpy), its code system, its composite components, the
*trigger keys* that select it (a parameter whose elements are absent is not evaluated) and
its *inputs*: the top-level elements its rows are a function of, when they are known. A
fast-path expression rooted at the resource reads the resource only through the members
its first step names (every later step looks at the items that step selected; ``%resource``
and fhirpathpy expressions have no known inputs), so two resources of the type whose
inputs hold the same JSON have the same rows of that parameter (``values`` memoises them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from samhandling.fhir.indexing.fhirpath import compile_fhirpath, split_union
from samhandling.fhir.indexing.paths import Accessor, Unsupported, compile_expression
from samhandling.fhir.search_parameters import SearchParameter, SearchParameterRegistry

__all__ = ["NOT_INDEXED", "Component", "ParamPlan", "TypePlan", "build_plan"]

NOT_INDEXED = frozenset({"_id", "_lastUpdated"})  # written by the store itself


@dataclass(frozen=True, slots=True)
class Component:
    code: str
    type: str
    accessor: Accessor
    code_system: str | None


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: a memo key (values)
class ParamPlan:
    parameter: SearchParameter
    accessor: Accessor
    code_system: str | None
    components: tuple[Component, ...] = ()
    # a restriction of another reference parameter (derived_parameters): only its
    # `:identifier` rows are written (its references are the other's), and only where the
    # other has such rows: `<other>:identifier`
    identifiers_of: str | None = None
    # the top-level elements the rows are a function of (sorted); None: unknown
    inputs: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class TypePlan:
    params: tuple[ParamPlan, ...]
    by_key: dict[str, tuple[int, ...]]
    always: frozenset[int]
    component_codes: frozenset[str]  # codes whose rows composites reuse (memoised)


def build_plan(
    registry: SearchParameterRegistry,
    resource_type: str,
    *,
    fast_path: bool,
    every_parameter: bool,
) -> TypePlan:
    """The plan of ``resource_type`` (see ``values.IndexExtractor`` for the options)."""
    compiler = _Compiler(registry, fast_path)
    params: list[ParamPlan] = []
    by_key: dict[str, list[int]] = {}
    always: set[int] = set()
    parameters = registry.for_type(resource_type).values()
    derived = {} if every_parameter else registry.derived(resource_type)
    # composites last, so that they find their components' rows in the memo
    for parameter in sorted(parameters, key=lambda p: p.type == "composite"):
        derivation = derived.get(parameter.code)
        if derivation is not None and derivation.target_type is None:
            continue  # a union of other parameters: their rows answer it
        compiled = compiler.param(parameter, resource_type)
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
    return TypePlan(
        tuple(params),
        {k: tuple(v) for k, v in by_key.items()},
        frozenset(always),
        component_codes,
    )


@dataclass(frozen=True)
class _Compiler:
    registry: SearchParameterRegistry
    fast_path: bool

    def param(
        self, parameter: SearchParameter, resource_type: str
    ) -> tuple[ParamPlan, frozenset[str] | None] | None:
        expression = parameter.expression
        if not expression or parameter.type == "special" or parameter.code in NOT_INDEXED:
            return None
        accessor, keys, output_type = self.compile(expression, resource_type, resource_type)
        code_system = parameter.code_system_for(resource_type)
        if parameter.type != "composite":
            return ParamPlan(parameter, accessor, code_system, inputs=_sorted(keys)), keys
        found = self.components(parameter, resource_type, output_type)
        if found is None:
            return None
        components, item_local = found
        inputs = None
        if self.fast_path:
            trigger, inputs = _composite_keys(parameter, resource_type)
            keys = trigger if keys is None else keys
        inputs = inputs if item_local else None
        plan = ParamPlan(parameter, accessor, None, components, inputs=_sorted(inputs))
        return plan, keys

    def compile(
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

    def components(
        self, parameter: SearchParameter, resource_type: str, base_type: str | None
    ) -> tuple[tuple[Component, ...], bool] | None:
        """The components, and whether each reads only the base item it is given (a
        fast-path expression without ``%resource``)."""
        components = []
        item_local = True
        for definition, expression in parameter.components:
            target = self.registry.by_url(definition)
            if target is None:
                return None
            accessor, keys, _ = self.compile(expression, base_type, None)
            item_local = item_local and keys is not None
            code_system = target.code_system_for(resource_type)
            components.append(Component(target.code, target.type, accessor, code_system))
        return tuple(components), item_local


def _sorted(keys: frozenset[str] | None) -> tuple[str, ...] | None:
    return None if keys is None else tuple(sorted(keys))


def _composite_keys(
    parameter: SearchParameter, resource_type: str
) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """(trigger keys, inputs) of a composite's base; None where unknown.

    For a base that is the resource itself (``Observation``), the resource must hold the
    keys of at least one component, e.g. a value (the trigger keys), and its rows are a
    function of every component's elements (the inputs)."""
    keys: set[str] = set()
    inputs: set[str] | None = set()
    for part in split_union(parameter.expression or ""):
        try:
            compiled = compile_expression(part, resource_type)
            own = [
                compile_expression(expression, resource_type).trigger_keys
                for _, expression in parameter.components
            ]
        except Unsupported:
            return None, None
        if compiled.trigger_keys is not None:
            keys |= compiled.trigger_keys
            if inputs is not None:
                inputs |= compiled.trigger_keys
            continue
        # every component must be present; the last one (usually the value) is the
        # most selective, e.g. code-value-quantity runs only with a valueQuantity
        known = [k for k in own if k is not None]
        if part.strip("() ") not in (resource_type, "Resource", "DomainResource") or not known:
            return None, None
        keys |= known[-1]
        if inputs is not None and len(known) == len(own):
            inputs.update(*known)
        else:
            inputs = None
    return frozenset(keys), (None if inputs is None else frozenset(inputs))
