"""What one audited interaction consists of, before it becomes an AuditEvent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# FHIR AuditEvent.action codes per interaction (R4 ValueSet audit-event-action).
ACTIONS = {
    "create": "C",
    "read": "R",
    "vread": "R",
    "history": "R",
    "history-type": "R",
    "search": "E",
    "update": "U",
    "patch": "U",
    "delete": "D",
    "transaction": "E",
    "batch": "E",
    "capabilities": "R",
}

# Operations that read what they name, as a read of it does (not a search).
READING_OPERATIONS = frozenset({"critical-information", "critical-information-indicator"})


def outcome_code(status: int) -> str:
    """AuditEvent.outcome: 0 success, 4 minor failure (refused, bad input), 8 serious failure."""
    if status < 400:
        return "0"
    return "4" if status < 500 else "8"


@dataclass(frozen=True)
class Destination:
    """Another server a request was passed on to (a federation peer): its name, its address
    and what it answered; an AuditEvent agent of the role "destination" (BALP, as the
    responding gateway of an IHE XCA query is)."""

    name: str
    address: str
    result: str


@dataclass
class AuditRecord:
    """One audited interaction (or one written resource inside a write transaction)."""

    interaction: str
    http_status: int
    recorded_at_us: int
    agent: dict[str, Any] = field(default_factory=dict)
    entities: list[tuple[str, str, str | None]] = field(default_factory=list)  # type, id, version
    patients: set[str] = field(default_factory=set)
    query: str | None = None
    emergency: bool = False
    emergency_reason: str | None = None
    decision_reason: str | None = None
    outcome_description: str | None = None
    #: the reason a user gave for a change (`$block`'s), on the written resource's entity
    change_reason: str | None = None
    method: str | None = None
    path: str | None = None
    source_address: str | None = None  # the client's network address (refusals)
    destinations: list[Destination] = field(default_factory=list)  # peers asked on its behalf
    #: an IHE transaction known from the write (ITI-65: the SubmissionSet), and its uniqueId
    ihe_transaction: str | None = None
    submission_set_id: str | None = None

    @property
    def action(self) -> str:
        base, _, name = self.interaction.partition(":")
        if base == "operation" and name in READING_OPERATIONS:
            return "R"
        return ACTIONS.get(base, "E")

    @property
    def outcome(self) -> str:
        return outcome_code(self.http_status)
