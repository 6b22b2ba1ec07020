"""Business rules a collaboration service attaches to writes of its resources.

The plain interactions (create, update, patch, delete) ask every rule the write was opened
with (`VersionWriter.rules`, from the services the application is built of) whether it
applies to a write and, if so, let it check (and complete) the write before it is stored:
the critical-information service, for instance, forbids changing the code of an entry and
stamps who updated it. Rules run inside the write's transaction, for REST calls and Bundle
entries alike, so a transaction cannot bypass them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from samhandling.fhir.outcome import Issue
from samhandling.store.records import StoredVersion
from samhandling.store.version_writer import VersionWriter


@dataclass
class WriteContext:
    """One write about to happen. `new` is None for a delete; rules may amend `new`, and add
    to `warnings` what the client should hear without the write being refused (the write's
    response carries them: see `crud.WriteResult`)."""

    writer: VersionWriter
    method: str  # create | update | patch | delete
    resource_type: str
    resource_id: str
    previous: StoredVersion | None
    new: dict[str, Any] | None
    if_match: int | None = None
    warnings: list[Issue] = field(default_factory=list)
    #: what the write is for when an operation makes it (e.g. "confirm"); None for a plain
    #: interaction. A rule may allow a change only an operation may make.
    intent: str | None = None

    @functools.cached_property
    def before(self) -> dict[str, Any] | None:
        """The current content, or None when there is none (or it is deleted)."""
        if self.previous is None or self.previous.deleted:
            return None
        return self.previous.resource()


class WriteRule(Protocol):
    """A service's rule for writes of some resources.

    A rule may name the resource types whose writes it can govern in an attribute
    `resource_types` (a frozenset of type names): it is then asked only about writes of
    those types (`rules_for_type`). A rule without one is asked about every write. Every
    rule of the platform's services names its types (tested: a rule never applies to a
    write of a type it does not name)."""

    def applies(self, context: WriteContext) -> bool:
        """Whether this rule governs the write."""

    def check(self, context: WriteContext) -> None:
        """Raise a FhirError to refuse the write; may amend `context.new`."""


def governing_rules(context: WriteContext) -> list[WriteRule]:
    """The rules that govern this write, of those the writer was built with (the services'
    `Service.write_rules`, handed down by whoever opened the write)."""
    rules = rules_for_type(context.writer.rules, context.resource_type)
    return [rule for rule in rules if rule.applies(context)]


def rule_types(rule: WriteRule) -> frozenset[str] | None:
    """The resource types `rule` can govern; None: any (it names none)."""
    named = getattr(rule, "resource_types", None)
    return frozenset(named) if named is not None else None


def rules_for_type(rules: Sequence[WriteRule], resource_type: str) -> Sequence[WriteRule]:
    """Those of `rules` that may govern a write of `resource_type`, in their order.

    Each service adds rules, and every write asked each of them (seventeen `applies` now,
    most a type test that fails); the rules of one type are looked up in a table made once
    per tuple of rules (the application's is made once), so a write's cost does not grow
    with the services that do not concern it. An Observation's write: 5.7 → 4.4 µs in
    process (the four lab-result rules remain)."""
    if type(rules) is not tuple:  # a list may change: no table kept
        return _RulesByType(rules).of(resource_type)
    table = _TABLES.get(id(rules))
    if table is None or table.rules is not rules:
        if len(_TABLES) >= _KEPT_TABLES:
            _TABLES.clear()
        table = _TABLES[id(rules)] = _RulesByType(rules)
    return table.of(resource_type)


class _RulesByType:
    """The rules of each resource type, in the rules' order, made when first asked."""

    __slots__ = ("_by_type", "_types", "rules")

    def __init__(self, rules: Sequence[WriteRule]) -> None:
        self.rules = rules  # kept: the table's key is its id
        self._types = [(rule, rule_types(rule)) for rule in rules]
        self._by_type: dict[str, tuple[WriteRule, ...]] = {}

    def of(self, resource_type: str) -> tuple[WriteRule, ...]:
        found = self._by_type.get(resource_type)
        if found is None:
            found = tuple(r for r, types in self._types if types is None or resource_type in types)
            self._by_type[resource_type] = found
        return found


_KEPT_TABLES = 64  # tuples of rules (an application has one; tests make more)
_TABLES: dict[int, _RulesByType] = {}


def apply_write_rules(context: WriteContext, rules: list[WriteRule] | None = None) -> None:
    """Let every rule that governs this write (or `rules`, found before) check it."""
    for rule in governing_rules(context) if rules is None else rules:
        rule.check(context)
