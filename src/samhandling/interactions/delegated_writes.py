"""The caller's guard for writes an operation has already decided (`DelegatedWrites`).

Some operations let a caller change what a plain write would refuse them: a citizen hides
their own document (`$hide-from-clinicians`) or gives a power of attorney
(`$grant-power-of-attorney`) though citizens may not write those resources. The operation
checks who may do it itself; its writes then go through this guard, which leaves reads,
searches and the audit trail to the caller's guard (every write is audited under the
operation's name, with the caller as the agent) and lets the write through.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from samhandling.access_guard import AccessGuard, WriteNote


class DelegatedWrites:
    """The caller's guard, except that writes are the operation's to decide (it has)."""

    inspects_resources = True

    def __init__(self, guard: AccessGuard) -> None:
        self._guard = guard

    @property
    def principal(self) -> Any:
        return self._guard.principal

    def check_request(self, interaction: str, resource_type: str | None) -> None:
        self._guard.check_request(interaction, resource_type)

    def conditional_restriction(self, interaction: str, resource_type: str) -> Any:
        return self._guard.conditional_restriction(interaction, resource_type)

    def check_read(
        self,
        interaction: str,
        resource: dict[str, Any],
        current: dict[str, Any] | None = None,
        *,
        shown: bool = True,
    ) -> None:
        self._guard.check_read(interaction, resource, current, shown=shown)

    def visible(
        self, interaction: str, resource: dict[str, Any], current: dict[str, Any] | None = None
    ) -> bool:
        return self._guard.visible(interaction, resource, current)

    def check_write(
        self, interaction: str, previous: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        return None

    def after_write(
        self,
        connection: Any,
        written: Any,
        patients: frozenset[str],
        note: WriteNote | None = None,
    ) -> None:
        self._guard.after_write(connection, written, patients, note)

    def after_read(self, connection: Any, interaction: str, url: str, since: Any) -> None:
        self._guard.after_read(connection, interaction, url, since)

    def after_refusal(
        self,
        connection: Any,
        interaction: str,
        entity: tuple[str, str],
        status: int,
        reason: str,
        *,
        since: Any = None,
        patients: frozenset[str] = frozenset(),
    ) -> None:
        self._guard.after_refusal(
            connection, interaction, entity, status, reason, since=since, patients=patients
        )

    def mark(self) -> Any:
        return self._guard.mark()

    def note_searched(self, patients: Iterable[str]) -> None:
        self._guard.note_searched(patients)

    def search_restriction(self, resource_type: str | None) -> Any:
        return self._guard.search_restriction(resource_type)
