"""The access guard of a request (the API's, the web views'): the caller's principal judged
by the policy.

It also observes what the caller was given (resources and the patients they concern: a
search's are those its Bundle returns, never the ones only judged while filling the page),
the patients a search was fixed on and those of the resources it refused
(`audit_patients.py`), and records every write — and every entry of a Bundle — in the
audit trail inside the write's own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection

from samhandling.audit import trail
from samhandling.audit.ihe_transactions import provided_submission_set
from samhandling.audit.records import AuditRecord
from samhandling.auth import Decision, Principal, ServiceRules, decide
from samhandling.auth.facts import policy_reads
from samhandling.fhir.instants import now_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.audit_identities import audit_agent, mask_national_ids, representative
from samhandling.interactions.audit_patients import AuditPatients, PatientMark, naming_reads
from samhandling.interactions.decision_memo import DecisionMemo
from samhandling.search.restriction import SearchRestriction

if TYPE_CHECKING:  # a type only: the API reaches the store through the interactions
    from samhandling.access_guard import WriteNote
    from samhandling.store.records import StoredVersion

# Batch and transaction Bundles are judged entry by entry, not as a whole.
ENTRY_BY_ENTRY = frozenset({"transaction", "batch"})


class GuardMark(NamedTuple):
    """How much the guard had seen and decided when a Bundle entry began (`PolicyGuard.mark`):
    the entry's audit record holds what came after."""

    entities: int
    patients: PatientMark
    decisions: int


START = GuardMark(0, PatientMark(0, 0, 0), 0)


def _written_status(written: StoredVersion) -> int:
    """The status the write was answered with (a delete's is 204 No Content, over REST and
    in a Bundle's entry alike; a create's 201)."""
    if written.deleted:
        return 204
    return 201 if written.method == "create" else 200


class PolicyGuard:
    """Implements `access_guard.AccessGuard` with `auth.decide`; keeps every decision."""

    inspects_resources = True

    def __init__(
        self,
        principal: Principal,
        *,
        service_rules: ServiceRules | None = None,
        audit_writes: bool = True,
    ) -> None:
        self.principal: Principal = principal
        self.service_rules = service_rules or ServiceRules()
        self.audit_writes = audit_writes
        self.decisions: list[Decision] = []  # appended by `_keep` only
        self._emergency: Decision | None = None
        self.entities: list[tuple[str, str, str | None]] = []
        self.audit_patients = AuditPatients()  # those shown, searched, refused
        self._search_decision: Decision | None = None  # the latest search's
        self.audited_at_commit = 0  # records appended to a write transaction (writes, entries)
        self.operation: str | None = None  # "operation:confirm" while an operation runs
        self._judged_elements: dict[str, frozenset[str] | None] = {}  # by type
        self.memo = DecisionMemo(principal, self.service_rules)  # a search's judging

    @property
    def emergency(self) -> Decision | None:
        """The first emergency-access decision of this request, if any (kept as it is
        made: looked for in every decision at every write, a transaction Bundle's audit
        records cost time growing with the square of its entries)."""
        return self._emergency

    def _keep(self, decision: Decision) -> None:
        self.decisions.append(decision)  # the one append
        if self._emergency is None and decision.emergency and decision.allowed:
            self._emergency = decision

    @property
    def patients(self) -> set[str]:
        """The patients whose data the caller was shown, or whose record it searched."""
        return self.patients_since(None, refused=False)

    def patients_since(self, since: GuardMark | None, *, refused: bool) -> set[str]:
        """The patients shown and searched since `since` (None: in the whole request), and
        with `refused` those of the resources refused: what a failed request aimed at."""
        return self.audit_patients.since((since or START).patients, refused=refused)

    def mark(self) -> GuardMark:
        """Where the guard stands now; a Bundle entry's record covers what follows."""
        return GuardMark(len(self.entities), self.audit_patients.mark(), len(self.decisions))

    def note_searched(self, patients: Iterable[str]) -> None:
        """A search was fixed on these patients (called after `search_restriction`): it
        looked at the records within the caller's reach, whatever it found (the audit record
        names them, so their access log lists it). One narrowed away, or a refused search,
        looked at nothing: like a refused read, only a failed request's record names it."""
        self.audit_patients.searched(patients, self._search_decision)

    def _decide(self, interaction: str, resource_type: str | None, resource: Any) -> Decision:
        decision = decide(
            self.principal,
            interaction,
            resource_type,
            resource=resource,
            service_rules=self.service_rules,
        )
        self._keep(decision)
        return decision

    def _observe(self, resource: dict[str, Any]) -> None:
        version = resource.get("meta", {}).get("versionId")
        self.entities.append((resource.get("resourceType", ""), resource.get("id", ""), version))
        self.audit_patients.shown(resource)

    def _refuse(self, resource: dict[str, Any]) -> None:
        """A resource the caller was refused: its patient is named in the refusal's record
        (the trail's and that patient's, never the caller's answer)."""
        self.audit_patients.refused(resource)

    def check_request(self, interaction: str, resource_type: str | None) -> None:
        if interaction in ENTRY_BY_ENTRY:
            return
        if interaction.startswith("operation:"):
            self.operation = interaction
        decision = self._decide(interaction, resource_type, None)
        if not decision.allowed:
            raise FhirError(403, error("forbidden", f"Access denied: {decision.reason}"))

    def check_instance_operation(self, interaction: str, resource_type: str) -> None:
        """`check_request` for an operation on one resource (`DiagnosticReport/{id}/$block`),
        whose patient is not known before the resource is: a caller narrowed to some patients
        (a clinician whose attestation names the patient) passes here as it does for a read,
        and every resource the operation writes is judged by the guard on its own patient
        (a write outside the caller's reach is refused there). A type- or system-level
        operation (`Patient/$merge`) stays refused to such a caller."""
        self.operation = interaction
        decision = decide(
            self.principal, interaction, resource_type, service_rules=self.service_rules
        )
        if decision.rule == "compartment.unknown":
            return
        self._keep(decision)
        if not decision.allowed:
            raise FhirError(403, error("forbidden", f"Access denied: {decision.reason}"))

    def conditional_restriction(self, interaction: str, resource_type: str) -> SearchRestriction:
        """Decided before any match is looked for, so that no answer depends on data the
        caller may not see: the interaction on the type (its patient is judged on each
        resource when written), then the search, whose narrowing the matching runs under.
        Its matches are the interaction's answer (the one returned or written, those a 412
        is about): each visible match judged is noted as shown, as a read's resource is."""
        decision = decide(
            self.principal, interaction, resource_type, service_rules=self.service_rules
        )
        if not decision.allowed and decision.rule != "compartment.unknown":
            self._keep(decision)
            raise FhirError(403, error("forbidden", f"Access denied: {decision.reason}"))
        restriction = self.search_restriction(resource_type)
        return replace(restriction, hidden=lambda resource: not self.visible("search", resource))

    def _decide_versions(
        self, interaction: str, resource: dict[str, Any], current: dict[str, Any] | None
    ) -> Decision:
        """The decision on `resource`; for an earlier version, also on the `current` one (an
        entry entered in error since, a label added since, hides its past as well)."""
        decision = self._decide(interaction, resource.get("resourceType"), resource)
        if decision.allowed and current is not None:
            now = self._decide(interaction, current.get("resourceType"), current)
            return decision if now.allowed else now
        return decision

    def check_read(
        self,
        interaction: str,
        resource: dict[str, Any],
        current: dict[str, Any] | None = None,
        *,
        shown: bool = True,
    ) -> None:
        decision = self._decide_versions(interaction, resource, current)
        if decision.allowed:
            if shown:
                self._observe(resource)
            return
        self._refuse(resource)
        if decision.conceal:
            raise FhirError(
                404, error("not-found", f"{_location(interaction, resource)} is not known")
            )
        raise FhirError(403, error("forbidden", f"Access denied: {decision.reason}"))

    def visible(
        self, interaction: str, resource: dict[str, Any], current: dict[str, Any] | None = None
    ) -> bool:
        allowed = self._decide_versions(interaction, resource, current).allowed
        if allowed:
            self._observe(resource)
        return allowed

    def search_restriction(self, resource_type: str | None) -> SearchRestriction:
        """What a search by this caller may return (narrowed by the policy's decision).

        Its `hidden` test judges (the decision is kept) without noting the resource as
        shown: the search judges more than it returns (the look-ahead match, the margin
        after a hidden one, a chain's targets). What the Bundle returns is noted by
        `shown`, so the audit record names exactly that."""
        decision = self._decide("search", resource_type, None)
        self._search_decision = decision
        if not decision.allowed:
            raise FhirError(403, error("forbidden", f"Access denied: {decision.reason}"))
        return SearchRestriction(
            patient_ids=decision.patient_ids if decision.effect == "narrow" else None,
            hidden=self._hidden_from_search,
            shown=self._observe,
            owner=self.principal.subject,
            hidden_uncounted=lambda resource: not self.would_show("search", resource),
            withheld_label=self.service_rules.withheld_labels.get(resource_type or ""),
            reads=self.judged_elements,
        )

    def judged_elements(self, resource_type: str) -> frozenset[str] | None:
        """What a search's tests read of a `resource_type` resource: the policy's decision
        for this caller and the audit record's naming (None: possibly any element). A
        search judges from a resource's policy facts only when they keep all of these."""
        known = self._judged_elements
        if resource_type not in known:
            rules = self.service_rules.access_rules
            decided = policy_reads(self.principal, resource_type, rules)
            naming = naming_reads(resource_type)
            known[resource_type] = None if decided is None else decided | naming
        return known[resource_type]

    def _hidden_from_search(self, resource: dict[str, Any]) -> bool:
        """A search's `hidden` test: judged, the decision kept, nothing noted as shown.
        Decided once per shape of what the policy reads (`decision_memo`): the decision
        kept is the one `decide` makes on this resource, as the audit record reads it."""
        decision = self.memo.decide("search", resource)
        self._keep(decision)
        return not decision.allowed

    def would_show(self, interaction: str, resource: dict[str, Any]) -> bool:
        """The policy's decision on `resource`, neither kept nor observed (for counting)."""
        return self.memo.decide(interaction, resource).allowed

    def check_write(
        self, interaction: str, previous: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        for resource in (previous, new):
            if resource is None:
                continue
            decision = self._decide(interaction, resource.get("resourceType"), resource)
            if not decision.allowed:
                self._refuse(resource)
                raise FhirError(403, error("forbidden", f"Access denied: {decision.reason}"))

    def after_write(
        self,
        connection: Connection,
        written: StoredVersion,
        patients: frozenset[str],
        note: WriteNote | None = None,
    ) -> None:
        """The write's audit record, appended at the end of the write's own transaction:
        under the operation it was made for (the `note`'s, else the running operation's,
        else the interaction), with the reason a user gave (national IDs masked)."""
        if not self.audit_writes:
            return
        emergency = self.emergency
        operation = f"operation:{note.operation}" if note else self.operation
        reason = note.reason if note else None
        record = AuditRecord(
            interaction=operation or written.method,  # an operation's writes say so
            http_status=_written_status(written),
            recorded_at_us=now_us(),
            agent=representative(audit_agent(self.principal), self.principal, set(patients)),
            entities=[(written.resource_type, written.resource_id, str(written.version_id))],
            patients=set(patients),
            emergency=emergency is not None,
            emergency_reason=emergency.emergency_reason if emergency else None,
            decision_reason=self.decisions[-1].reason if self.decisions else None,
            change_reason=mask_national_ids(reason)[:500] if reason else None,
        )
        if written.resource_type == "List" and not written.deleted:
            submission_set = provided_submission_set("List", written.resource())
            if submission_set is not None:
                record.ihe_transaction, record.submission_set_id = "ITI-65", submission_set
        trail.append_at_commit(connection, record)
        self.audited_at_commit += 1

    def after_read(
        self, connection: Connection, interaction: str, url: str, since: GuardMark
    ) -> None:
        """A Bundle's read or search entry (`url`: `Type/id…` or `Type?query`): the record a
        plain GET would leave, appended with the Bundle's other records."""
        if not self.audit_writes:
            return
        path, _, query = url.partition("?")
        record = AuditRecord(
            interaction=interaction,
            http_status=200,
            recorded_at_us=now_us(),
            agent=audit_agent(self.principal),
            query=mask_national_ids(f"GET /fhir/{path}?{query}") if query else None,
            method="GET",
            path=f"/fhir/{path}",
        )
        self.describe(record, since)
        trail.append_at_commit(connection, record)
        self.audited_at_commit += 1

    def after_refusal(
        self,
        connection: Connection,
        interaction: str,
        entity: tuple[str, str],
        status: int,
        reason: str,
        *,
        since: GuardMark | None = None,
        patients: frozenset[str] = frozenset(),
    ) -> None:
        """A failed batch entry's audit record, appended with the kept entries' records. It
        names the `patients` the entry's url names and, `since` the entry began, those the
        guard saw, searched or refused (as a failed plain request's record does)."""
        if not self.audit_writes:
            return
        record = AuditRecord(interaction, status, now_us(), agent=audit_agent(self.principal))
        if since is not None:
            self.describe(record, since)
        record.entities = [(entity[0], entity[1], None)] if entity[1] else []
        record.patients |= patients
        record.agent = representative(record.agent, self.principal, record.patients)
        record.outcome_description = mask_national_ids(reason)[:500]
        trail.append_at_commit(connection, record)
        self.audited_at_commit += 1

    def describe(self, record: AuditRecord, since: GuardMark | None = None) -> None:
        """What the guard saw and decided (since `since`; None: in the whole request) on
        the audit record of a read, search, operation or refusal; a failed one (4xx, 5xx)
        also names the patients of the resources refused."""
        start = since or START
        record.entities = self.entities[start.entities :]
        record.patients = self.patients_since(since, refused=record.http_status >= 400)
        record.agent = representative(record.agent, self.principal, record.patients)
        decisions = self.decisions[start.decisions :]
        emergency = next((d for d in decisions if d.emergency and d.allowed), None)
        record.emergency = emergency is not None
        record.emergency_reason = emergency.emergency_reason if emergency else None
        denied = [d for d in decisions if not d.allowed]
        deciding = denied or decisions
        record.decision_reason = deciding[-1].reason if deciding else None


def note_guard(record: AuditRecord, guard: PolicyGuard) -> None:
    """What the guard saw and decided, on the audit record of a read, search or operation
    (`PolicyGuard.describe` over the whole request)."""
    guard.describe(record)


def _location(interaction: str, resource: dict[str, Any]) -> str:
    """What the not-found message of `interaction` names (the same words as a real miss)."""
    location = f"{resource.get('resourceType')}/{resource.get('id')}"
    if interaction == "vread":
        location += f"/_history/{resource.get('meta', {}).get('versionId')}"
    return location
