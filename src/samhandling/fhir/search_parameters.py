"""The search-parameter registry: the official FHIR R4 SearchParameters plus custom ones.

The official 1,375 definitions are packaged in ``definitions/r4-search-parameters.json.gz``
(built by ``tools/build_search_definitions.py``; the build fixes the swapped components of
``DocumentReference-relationship``). ``default_registry()`` is the process-wide registry;
``SearchParameterRegistry.official()`` returns a fresh, independent copy.

**Common parameters.** ``for_type(t)`` returns the parameters whose ``base`` names ``t`` plus
those defined on ``Resource`` (``_id``, ``_lastUpdated``, ``_tag``, ``_profile``,
``_security``, ``_source``, ``_content``, ``_query``) and, for every type except the three
that are not DomainResources (Bundle, Binary, Parameters), the ``DomainResource`` parameter
``_text``. All of them are *defined* for every type; whether they are *indexed* is the
index extractor's business: ``_id`` and ``_lastUpdated`` are written by the store itself,
``_content``, ``_query`` and ``_text`` have no expression, and the one ``special``
parameter (``Location.near``) needs geometry, so none of these produce index rows.

A parameter of a type overrides an inherited one with the same code; a custom parameter
added with ``add()`` replaces a parameter with the same code on the same base.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from samhandling.fhir.derived_parameters import Derivation, derivations
from samhandling.fhir.indexing.fhirpath import fhirpath_syntax_error

__all__ = [
    "NOT_DOMAIN_RESOURCES",
    "SEARCH_PARAM_TYPES",
    "InvalidSearchParameterError",
    "SearchParameter",
    "SearchParameterRegistry",
    "default_registry",
]

SEARCH_PARAM_TYPES = frozenset(
    {"number", "date", "string", "token", "reference", "composite", "quantity", "uri", "special"}
)
NOT_DOMAIN_RESOURCES = frozenset({"Bundle", "Binary", "Parameters"})
_ABSTRACT_BASES = ("Resource", "DomainResource")
_CODE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")
_DEFINITIONS = "r4-search-parameters.json.gz"


class InvalidSearchParameterError(ValueError):
    """A SearchParameter resource given to ``SearchParameterRegistry.add`` is not usable."""


@dataclass(frozen=True, slots=True)
class SearchParameter:
    """One search parameter, as much of an R4 SearchParameter as search and indexing need."""

    url: str
    code: str
    base: tuple[str, ...]
    type: str  # number | date | string | token | reference | composite | quantity | uri | special
    expression: str | None
    targets: tuple[str, ...] = ()
    # (definition url of the component's SearchParameter, expression relative to the base)
    components: tuple[tuple[str, str], ...] = ()
    modifiers: tuple[str, ...] = ()
    comparators: tuple[str, ...] = ()
    # (resource type, code system) of bare `code` values read by a token parameter
    code_systems: tuple[tuple[str, str], ...] = ()
    id: str | None = None
    name: str | None = None
    description: str = field(default="", compare=False, repr=False)

    def code_system_for(self, resource_type: str) -> str | None:
        """The implicit code system of bare ``code`` values on ``resource_type``, if known."""
        for base, system in self.code_systems:
            if base == resource_type:
                return system
        return None

    @classmethod
    def from_definition(cls, item: Mapping[str, Any]) -> SearchParameter:
        """From the packaged compact form (see tools/build_search_definitions.py)."""
        return cls(
            url=item["url"],
            code=item["code"],
            base=tuple(item["base"]),
            type=item["type"],
            expression=item.get("expression"),
            targets=tuple(item.get("target", ())),
            components=tuple((c[0], c[1]) for c in item.get("component", ())),
            modifiers=tuple(item.get("modifier", ())),
            comparators=tuple(item.get("comparator", ())),
            code_systems=tuple(sorted(item.get("codeSystems", {}).items())),
            id=item.get("id"),
            name=item.get("name"),
            description=item.get("description", ""),
        )

    @classmethod
    def from_resource(cls, resource: Mapping[str, Any]) -> SearchParameter:
        """From a FHIR SearchParameter resource (no validation; see registry ``add``)."""
        return cls(
            url=resource.get("url", ""),
            code=resource.get("code", ""),
            base=tuple(resource.get("base", ())),
            type=resource.get("type", ""),
            expression=resource.get("expression"),
            targets=tuple(resource.get("target", ())),
            components=tuple(
                (c.get("definition", ""), c.get("expression", ""))
                for c in resource.get("component", ())
            ),
            modifiers=tuple(resource.get("modifier", ())),
            comparators=tuple(resource.get("comparator", ())),
            id=resource.get("id"),
            name=resource.get("name"),
            description=resource.get("description", ""),
        )


class SearchParameterRegistry:
    """Search parameters by resource type and code, and by canonical url."""

    def __init__(
        self, parameters: Iterable[SearchParameter] = (), resource_types: Iterable[str] = ()
    ) -> None:
        self._lock = threading.RLock()
        self._resource_types = frozenset(resource_types)
        self._by_base: dict[str, dict[str, SearchParameter]] = {}
        self._by_url: dict[str, SearchParameter] = {}
        self._for_type: dict[str, Mapping[str, SearchParameter]] = {}
        self._derived: dict[str, Mapping[str, Derivation]] = {}
        self._derived_by_code: dict[str, Mapping[str, Derivation]] | None = None
        self._generation = 0
        for parameter in parameters:
            self._put(parameter)

    @classmethod
    def official(cls) -> SearchParameterRegistry:
        """A new registry holding the 1,375 official R4 search parameters."""
        package = resources.files("samhandling.fhir.definitions")
        data = json.loads(gzip.decompress(package.joinpath(_DEFINITIONS).read_bytes()))
        parameters = [SearchParameter.from_definition(p) for p in data["parameters"]]
        return cls(parameters, data["resourceTypes"])

    @property
    def resource_types(self) -> frozenset[str]:
        """The concrete resource types known to this registry (146 for R4)."""
        return self._resource_types

    @property
    def generation(self) -> int:
        """Incremented on every ``add``; lets callers invalidate what they derived."""
        return self._generation

    def __len__(self) -> int:
        return len(self._by_url)

    def __iter__(self) -> Iterator[SearchParameter]:
        return iter(list(self._by_url.values()))

    def by_url(self, url: str) -> SearchParameter | None:
        """The parameter with this canonical url (a ``|version`` suffix is ignored)."""
        return self._by_url.get(url.split("|", 1)[0])

    def for_type(self, resource_type: str) -> Mapping[str, SearchParameter]:
        """Code -> parameter for ``resource_type``, including the common ones (read-only)."""
        cached = self._for_type.get(resource_type)
        if cached is not None:
            return cached
        if resource_type not in self._resource_types:
            raise KeyError(f"unknown resource type {resource_type!r}")
        merged = dict(self._by_base.get("Resource", {}))
        if resource_type not in NOT_DOMAIN_RESOURCES:
            merged.update(self._by_base.get("DomainResource", {}))
        merged.update(self._by_base.get(resource_type, {}))
        view = MappingProxyType(dict(sorted(merged.items())))
        with self._lock:
            self._for_type[resource_type] = view
        return view

    def get(self, resource_type: str, code: str) -> SearchParameter | None:
        """The parameter ``code`` of ``resource_type``, or None."""
        try:
            return self.for_type(resource_type).get(code)
        except KeyError:
            return None

    def derived(self, resource_type: str) -> Mapping[str, Derivation]:
        """Code -> Derivation of the parameters of ``resource_type`` whose index rows are
        not written but answered from other parameters' rows (``derived_parameters``)."""
        cached = self._derived.get(resource_type)
        if cached is not None:
            return cached
        found = derivations(self.for_type(resource_type), resource_type, self.by_url)
        view = MappingProxyType(found)
        with self._lock:
            self._derived[resource_type] = view
        return view

    def derivation(self, resource_type: str, code: str) -> Derivation | None:
        """How ``code``'s rows are found on ``resource_type``; None when they are written."""
        try:
            return self.derived(resource_type).get(code)
        except KeyError:
            return None

    def derived_types(self, code: str) -> Mapping[str, Derivation]:
        """Resource type -> Derivation, for every type on which ``code`` is derived."""
        by_code = self._derived_by_code
        if by_code is None:
            collected: dict[str, dict[str, Derivation]] = {}
            for resource_type in sorted(self._resource_types):
                for name, derivation in self.derived(resource_type).items():
                    collected.setdefault(name, {})[resource_type] = derivation
            by_code = {name: MappingProxyType(types) for name, types in collected.items()}
            with self._lock:
                self._derived_by_code = by_code
        return by_code.get(code, MappingProxyType({}))

    def add(self, resource: Mapping[str, Any]) -> SearchParameter:
        """Validate a SearchParameter resource and register it; returns the parameter.

        Raises InvalidSearchParameterError when url, code, base, type or expression is
        missing or invalid, when the expression does not compile, or when a composite's
        component does not name a known parameter.
        """
        parameter = SearchParameter.from_resource(resource)
        self._validate(resource, parameter)
        with self._lock:
            self._put(parameter)
            self._for_type.clear()
            self._derived.clear()
            self._derived_by_code = None
            self._generation += 1
        return parameter

    def _put(self, parameter: SearchParameter) -> None:
        for base in parameter.base:
            per_base = self._by_base.setdefault(base, {})
            replaced = per_base.get(parameter.code)
            if replaced is not None and replaced.url != parameter.url:
                self._unlink(replaced, base)
            per_base[parameter.code] = parameter
        self._by_url[parameter.url] = parameter

    def _unlink(self, replaced: SearchParameter, base: str) -> None:
        """Drop ``replaced`` from ``base``; forget its url once no base uses it."""
        still_used = any(
            self._by_base.get(b, {}).get(replaced.code) is replaced
            for b in replaced.base
            if b != base
        )
        if not still_used:
            self._by_url.pop(replaced.url, None)

    def _validate(self, resource: Mapping[str, Any], parameter: SearchParameter) -> None:
        problems: list[str] = []
        if resource.get("resourceType") != "SearchParameter":
            problems.append("resourceType must be SearchParameter")
        if not isinstance(resource.get("url"), str) or not parameter.url:
            problems.append("url is required")
        if not isinstance(resource.get("code"), str) or not _CODE_RE.fullmatch(parameter.code):
            problems.append("code is required and must be a valid parameter name")
        known = self._resource_types | set(_ABSTRACT_BASES)
        if not parameter.base or any(b not in known for b in parameter.base):
            problems.append(f"base must list known resource types, got {list(parameter.base)}")
        if parameter.type not in SEARCH_PARAM_TYPES:
            problems.append(f"type must be one of {sorted(SEARCH_PARAM_TYPES)}")
        if not isinstance(parameter.expression, str) or not parameter.expression.strip():
            problems.append("expression is required")
        else:
            problems.extend(_compile_problems(parameter.expression, "expression"))
        if parameter.type == "composite":
            problems.extend(self._component_problems(parameter))
        if problems:
            raise InvalidSearchParameterError(
                f"invalid SearchParameter {parameter.url or parameter.code!r}: "
                + "; ".join(problems)
            )

    def _component_problems(self, parameter: SearchParameter) -> list[str]:
        if not parameter.components:
            return ["a composite parameter needs components"]
        problems: list[str] = []
        for definition, expression in parameter.components:
            target = self.by_url(definition)
            if target is None or target.type in ("composite", "special"):
                problems.append(f"component definition {definition!r} is not a known parameter")
            problems.extend(_compile_problems(expression, f"component {definition!r}"))
        return problems


def _compile_problems(expression: str, what: str) -> list[str]:
    error = fhirpath_syntax_error(expression)
    return [f"{what} does not compile: {error}"] if error else []


@cache
def default_registry() -> SearchParameterRegistry:
    """The process-wide registry of official parameters (custom ones are added to it)."""
    return SearchParameterRegistry.official()
