"""The access guard every interaction consults: who may read or write what.

The interactions know nothing about tokens; they call a guard at the points where a
resource is read or written. The API passes a guard built from the caller's principal and
the policy (`interactions/policy_guard.py`); trusted internal callers (the importer, migrations)
use `OPEN_ACCESS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # a type only: the store, which imports this module, stays below auth
    from samhandling.auth.principal import Principal


@dataclass(frozen=True)
class WriteNote:
    """Why a write is made, for its audit record: the operation it is made for (the
    AuditEvent's subtype, even when the write happens inside another interaction, e.g. a
    block that follows a lab's correction of a blocked report) and the reason a user gave."""

    operation: str
    reason: str | None = None


class AccessGuard(Protocol):
    """Raises a FhirError (403/404) when the caller may not do what it asks."""

    #: whether the guard needs the resources themselves (else reads skip parsing them)
    inspects_resources: bool

    @property
    def principal(self) -> Principal | None:
        """The authenticated caller; None for trusted internal callers (imports, the demo)."""

    def check_request(self, interaction: str, resource_type: str | None) -> None:
        """Before any data is touched: may the caller do `interaction` on the type at all?"""

    def conditional_restriction(self, interaction: str, resource_type: str) -> Any:
        """Before a conditional interaction matches anything: may the caller do
        `interaction` on the type at all (which patient is judged per resource later), and
        search it? The `SearchRestriction` its matches are found under (None: no limits)."""

    def check_read(
        self,
        interaction: str,
        resource: dict[str, Any],
        current: dict[str, Any] | None = None,
        *,
        shown: bool = True,
    ) -> None:
        """May the caller see this resource? An earlier version is judged together with the
        `current` one: what the caller may no longer see now, it may not see in the past.
        `shown` False: a check only, the caller is not given the resource (a compartment
        search's Patient), so the audit record does not name it."""

    def visible(
        self, interaction: str, resource: dict[str, Any], current: dict[str, Any] | None = None
    ) -> bool:
        """Like check_read, as a filter (for search results, includes and history)."""

    def check_write(
        self, interaction: str, previous: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        """May the caller replace `previous` (None: create) by `new` (None: delete)?"""

    def after_write(
        self,
        connection: Any,
        written: Any,
        patients: frozenset[str],
        note: WriteNote | None = None,
    ) -> None:
        """Called inside the write transaction after each write (the audit trail hooks in),
        with the `note` the write was made with, if any."""

    def after_read(self, connection: Any, interaction: str, url: str, since: Any) -> None:
        """Called inside a Bundle's transaction after a read or search entry (`url`: its
        `Type/id…` or `Type?query`) was answered: it is audited as the plain GET would be,
        with what the guard saw `since` the `mark()` taken before the entry ran."""

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
        """Called inside a batch's transaction for an entry that failed and was rolled back
        (its audit records with it): the refusal is audited with the entries kept.
        `entity` is (type, id), the id "" when the entry named none; the record names the
        `patients` the entry's url names and those the guard refused `since` its `mark()`."""

    def mark(self) -> Any:
        """Where the guard's observations stand, for a Bundle entry's audit record."""

    def note_searched(self, patients: Iterable[str]) -> None:
        """After `search_restriction`: the search is fixed on these patients' records
        (audited as looking at those within the caller's reach, whatever it finds)."""

    def search_restriction(self, resource_type: str | None) -> Any:
        """A `search.restriction.SearchRestriction` for a search, or None for no limits."""


class OpenAccess:
    """Everything allowed: for trusted internal callers only (never for HTTP requests)."""

    inspects_resources = False
    principal: Principal | None = None

    def check_request(self, interaction: str, resource_type: str | None) -> None:
        return None

    def conditional_restriction(self, interaction: str, resource_type: str) -> Any:
        return None

    def check_read(
        self,
        interaction: str,
        resource: dict[str, Any],
        current: dict[str, Any] | None = None,
        *,
        shown: bool = True,
    ) -> None:
        return None

    def visible(
        self, interaction: str, resource: dict[str, Any], current: dict[str, Any] | None = None
    ) -> bool:
        return True

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
        return None

    def after_read(self, connection: Any, interaction: str, url: str, since: Any) -> None:
        return None

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
        return None

    def mark(self) -> Any:
        return None

    def note_searched(self, patients: Iterable[str]) -> None:
        return None

    def search_restriction(self, resource_type: str | None) -> Any:
        return None


OPEN_ACCESS: AccessGuard = OpenAccess()
