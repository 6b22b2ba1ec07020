"""The index rows of a parameter, in SQL: its own, or those of the parameters it derives from.

A parameter whose rows are not written (``fhir/derived_parameters.py``: Observation
``combo-code`` = ``code`` ∪ ``component-code``, ``patient`` = the ``subject`` references to a
Patient) is answered from its sources' rows: ``param IN (code, component-code)``, or
``param = 'subject' AND target_type = 'Patient'``. Every place that selects index rows by
parameter (criteria, chains, ``_has``, ``_sort``, composites, ``:above``/``:below``,
``_include``/``_revinclude``) goes through ``param_rows``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from samhandling.fhir.derived_parameters import Derivation
from samhandling.fhir.search_parameters import SearchParameterRegistry, default_registry
from samhandling.search.conditions import param_of

Condition = ColumnElement[bool]


def param_rows(
    columns: Any,
    resource_type: str | None,
    code: str,
    *,
    suffix: str = "",
    registry: SearchParameterRegistry | None = None,
    param: Any = None,
) -> Condition:
    """The condition selecting, in an index table (``columns``: its ``.c``), the rows of
    parameter ``code`` (plus ``suffix``: ``:of-type``, ``:identifier``) of
    ``resource_type``, or of any type (None: by the rows' own ``resource_type``);
    ``param``: the parameter column as an expression (a probe's, `conditions.param_of`)."""
    registry = registry or default_registry()
    param = columns.param if param is None else param
    if resource_type is not None:
        derivation = registry.derivation(resource_type, code)
        if derivation is None or not derivation.covers(suffix):
            return param == code + suffix
        return _derived(columns, param, derivation, suffix)
    return _any_type(columns, param, registry.derived_types(code), code, suffix)


@lru_cache(maxsize=1024)
def pooled_param_rows(
    table: Any,
    resource_type: str | None,
    code: str,
    suffix: str,
    probe: bool,
    registry: SearchParameterRegistry,
    generation: int,
) -> Condition:
    """`param_rows` of a pooled alias (search/aliases.py), made once: the condition names
    only the parameter, never a search value. The registry's `generation` is part of the
    key, so a custom parameter registered since (which may change derivations) is seen."""
    del generation  # only part of the key
    param = param_of(table, probe)
    return param_rows(table.c, resource_type, code, suffix=suffix, registry=registry, param=param)


def _derived(columns: Any, param: Any, derivation: Derivation, suffix: str) -> Condition:
    params = derivation.params(suffix)
    own = param == params[0] if len(params) == 1 else param.in_(params)
    if derivation.target_type is None:
        return own
    return and_(own, columns.target_type == derivation.target_type)


def _any_type(
    columns: Any, param: Any, derived: Mapping[str, Derivation], code: str, suffix: str
) -> Condition:
    covered = {t: d for t, d in derived.items() if d.covers(suffix)}
    written = param == code + suffix
    if not covered:
        return written
    types = columns.resource_type
    return or_(
        and_(types.not_in(sorted(covered)), written),
        *(
            and_(types == t, _derived(columns, param, d, suffix))
            for t, d in sorted(covered.items())
        ),
    )
