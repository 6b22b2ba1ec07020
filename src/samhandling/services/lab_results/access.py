"""Who sees a lab result when: the service's access rule (pure, `auth.access_rules`).

* A citizen (and whoever acts for one: parents, proxies — every citizen principal) sees a
  lab result from its `issued` time plus the delay of its kind (`release_delays`), so the
  clinician can talk to the patient first. A result without a readable `issued` time (with
  its time zone) is never released: deny by default. A correction restarts the delay from
  its own `issued`.
* A citizen never sees a report, result or specimen a clinician blocked (`labels`).
* A result shared for quality assurance is never returned for care: clinicians (every
  purpose of use of the trust framework — TREAT, ETREAT, COC, BTG — is care) never get it.
* Clinicians and systems otherwise see results at once.

The policy applies it to every read of every route (read, vread and history, where an
earlier version is judged together with the current one, search matches and includes,
compartment searches, Bundle entries, operations), after its own rules allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from samhandling.auth.access_rules import NOTHING, AccessRequest, ElementReads, Refusal
from samhandling.services.lab_results.labels import (
    BLOCKABLE_TYPES,
    is_blocked,
    is_quality_assurance,
)
from samhandling.services.lab_results.release_delays import ReleaseDelays, load_release_delays

RULE_BLOCKED = "lab-results.blocked"
RULE_DELAY = "lab-results.delay"
RULE_QUALITY = "lab-results.quality-assurance"
_LABELS_READ: ElementReads = MappingProxyType(dict.fromkeys(BLOCKABLE_TYPES, frozenset({"meta"})))


@dataclass(frozen=True)
class LabResultAccess:
    """`auth.access_rules.AccessRule`: delay and block for citizens, no QA results for care."""

    delays: ReleaseDelays = field(default_factory=load_release_delays)
    # the labels (meta), the kind and its delay (category, code) and the time released
    reads = MappingProxyType(
        dict.fromkeys(BLOCKABLE_TYPES, frozenset({"meta", "category", "code", "issued"}))
    )

    def reads_for(self, kind: str) -> ElementReads:
        """What `refusal` reads for a caller of this `kind`: the kind, delay and time only
        for citizens, the labels for clinicians, nothing for systems (a guard remembers a
        request's decisions by what they read, `auth.facts.decision_reads`)."""
        if kind == "citizen":
            return self.reads
        return _LABELS_READ if kind == "clinician" else NOTHING

    def refusal(self, request: AccessRequest) -> Refusal | None:
        resource = request.resource
        if not request.reads or not resource or request.resource_type not in BLOCKABLE_TYPES:
            return None
        kind = request.principal.kind
        if kind == "clinician" and is_quality_assurance(resource):
            return "lab results shared for quality assurance are not for care", RULE_QUALITY
        if kind != "citizen":
            return None
        if is_blocked(resource):
            return "a clinician has withheld this lab result from the patient", RULE_BLOCKED
        delay = self.delays.delay_of(resource)
        if delay is None:
            return None
        issued = issued_time(resource)
        if issued is None or request.now < issued + delay:
            return "the lab result is not released to the patient yet", RULE_DELAY
        return None


def issued_time(resource: dict[str, Any]) -> datetime | None:
    """`issued` as an aware datetime, or None when missing, unreadable or without a zone."""
    value = resource.get("issued")
    if not isinstance(value, str):
        return None
    try:
        issued = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return issued if issued.tzinfo is not None else None
