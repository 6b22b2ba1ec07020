"""Token modifiers answered with the bundled terminology: `:below`, `:above`, `:in`, `:not-in`.

FHIR R4 §3.1.1.5.5: `:below=system|code` finds codings subsumed by the code (the code
itself included), `:above=system|code` codings that subsume it, `:in=url` codings in the
value set, `:not-in=url` resources with no coding in it (like `:not`, resources without
the element match). What the platform knows of hierarchies and value sets is in
`terminology/subsumption.py` and `terminology/value_set_rules.py`; a question it cannot
answer (SNOMED CT subsumption, a value set that is not bundled) is a 400, never an
unfiltered result.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, not_, or_, true

from samhandling.fhir.outcome import FhirError, error
from samhandling.search.conditions import Condition, starts_with
from samhandling.search.values import parse_token
from samhandling.terminology.subsumption import Subsumed, SubsumptionError, above, below
from samhandling.terminology.value_set_rules import CodeRule, Membership, membership
from samhandling.terminology.value_sets import ValueSetError

TERMINOLOGY_MODIFIERS = frozenset({"above", "below", "in", "not-in"})
Columns = Any  # the `.c` collection of an alias of index_token


def refusal(code: str, modifier: str, value: str) -> str | None:
    """Why the terminology cannot answer `code:modifier=value`, or None when it can."""
    try:
        _resolve(code, modifier, value)
    except _Refused as exc:
        return exc.message
    return None


def condition(c: Columns, modifier: str, value: str) -> Condition:
    """The match of one value; for `:not-in` the match of `:in` (the caller negates it)."""
    try:
        resolved = _resolve("token", modifier, value)
    except _Refused as exc:  # the criteria check the values before any SQL is made
        raise FhirError(400, error("not-supported", exc.message)) from exc
    if isinstance(resolved, Membership):
        return _membership(c, resolved)
    system, subsumed = resolved
    if subsumed.prefix is not None:
        return and_(c.system == system, starts_with(c.code, subsumed.prefix))
    return and_(c.system == system, c.code.in_(sorted(subsumed.codes)))


def _resolve(code: str, modifier: str, value: str) -> Membership | tuple[str, Subsumed]:
    if modifier in ("in", "not-in"):
        try:
            return membership(value)
        except ValueSetError as exc:
            raise _refused(code, modifier, exc.message) from exc
    parsed = parse_token(value)
    if not parsed.system or not parsed.code:
        raise _refused(code, modifier, "the value must be system|code")
    walk = below if modifier == "below" else above
    try:
        return parsed.system, walk(parsed.system, parsed.code)
    except SubsumptionError as exc:
        raise _refused(code, modifier, str(exc)) from exc


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _refused(code: str, modifier: str, why: str) -> _Refused:
    return _Refused(f"{code}:{modifier}: {why}")


def _membership(c: Columns, rules: Membership) -> Condition:
    taken = _any(c, rules.includes)
    if not rules.excludes:
        return taken
    return and_(taken, not_(_any(c, rules.excludes)))


def _any(c: Columns, rules: tuple[CodeRule, ...]) -> Condition:
    return or_(*(_rule(c, r) for r in rules)) if rules else false()


def _rule(c: Columns, rule: CodeRule) -> Condition:
    conditions = [_membership(c, m) for m in rule.within]
    if rule.system is not None:
        conditions.append(c.system == rule.system)
    if rule.codes is not None:
        conditions.append(c.code.in_(sorted(rule.codes)))
    return and_(*conditions) if conditions else true()
