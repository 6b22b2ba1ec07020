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
    """A service's rule for writes of some resources."""

    def applies(self, context: WriteContext) -> bool:
        """Whether this rule governs the write."""

    def check(self, context: WriteContext) -> None:
        """Raise a FhirError to refuse the write; may amend `context.new`."""


def governing_rules(context: WriteContext) -> list[WriteRule]:
    """The rules that govern this write, of those the writer was built with (the services'
    `Service.write_rules`, handed down by whoever opened the write)."""
    return [rule for rule in context.writer.rules if rule.applies(context)]


def apply_write_rules(context: WriteContext, rules: list[WriteRule] | None = None) -> None:
    """Let every rule that governs this write (or `rules`, found before) check it."""
    for rule in governing_rules(context) if rules is None else rules:
        rule.check(context)
