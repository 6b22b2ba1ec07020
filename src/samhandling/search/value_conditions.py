"""A criterion's value match, made once per pooled index-table alias and distinct values.

Building the OR-ed value conditions of a criterion (`code = … AND system = …`, a
reference's target and url, a date range) is SQLAlchemy expression construction, an eighth
of a search's CPU in-process (`Observation?patient&category&date`, bench/RESULTS.md). The
result is a pure function of the alias, the kind of match, the modifier, the parameter, the
values and the server's base URL, and an expression can serve any number of statements
(as the pooled aliases do, search/aliases.py): one made for the same key is the same SQL
with the same bound values. Kinds whose condition reads anything else are never kept:
terminology modifiers (value sets in the database), full text, `ap` dates (relative to
now), numbers and quantities (their precision rules read the registry).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from samhandling.search.model import Criterion
from samhandling.search.token_terminology import TERMINOLOGY_MODIFIERS

Condition = ColumnElement[bool]
#: the memo is emptied when it holds this many (a patient reference per patient searched)
MAX_KEPT = 4096
_KEPT_KINDS = frozenset({"token", "reference", "string", "uri", "date"})

_kept: dict[tuple[Any, ...], Condition] = {}


def value_match(
    table: Any,
    kind: str,
    criterion: Criterion,
    base_url: str | None,
    make: Callable[[], Condition],
) -> Condition:
    """`make()`, or the condition it made before for the same alias, kind and values."""
    if not _keepable(kind, criterion):
        return make()
    key = (table, kind, criterion.modifier, criterion.code, criterion.values, base_url)
    found = _kept.get(key)
    if found is None:
        if len(_kept) >= MAX_KEPT:
            _kept.clear()  # rather than an order to keep under the server's threads
        found = _kept[key] = make()
    return found


def _keepable(kind: str, criterion: Criterion) -> bool:
    if kind not in _KEPT_KINDS or criterion.modifier in TERMINOLOGY_MODIFIERS:
        return False
    if kind == "token" and criterion.modifier == "text":
        return False  # `words_start`: the engine's full-text form
    return kind != "date" or not any(v.startswith("ap") for v in criterion.values)
