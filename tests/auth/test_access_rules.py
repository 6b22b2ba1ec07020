"""The rules taken into the policy for issue 15: the audit trail's security-officer rule,
citizens answered 404 (`Decision.conceal`), and the services' own access rules."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fixtures.policykit import NOW, citizen, clinician, res, system
from samhandling.auth import ServiceRules, decide
from samhandling.auth.access_rules import AccessRequest, Refusal
from samhandling.auth.principal import Principal, RegisterStanding
from samhandling.services.critical_information.writers import CriticalInformationWriters

OPERATIONS = ServiceRules(operations={"emergency-report": "s"})


def test_the_audit_trail_needs_a_scope_naming_auditevent() -> None:
    officer = clinician("user/AuditEvent.rs")
    assert decide(officer, "search", "AuditEvent", now=NOW).allowed
    wildcard = decide(clinician("user/*.rs"), "search", "AuditEvent", now=NOW)
    assert (wildcard.effect, wildcard.rule) == ("deny", "audit-trail.scope")
    report = decide(system(), "operation:emergency-report", "AuditEvent", service_rules=OPERATIONS)
    assert report.rule == "audit-trail.scope"  # system/*.cruds is a wildcard too
    explicit = system("system/AuditEvent.rs")
    assert decide(explicit, "operation:emergency-report", "AuditEvent", service_rules=OPERATIONS)


def test_a_citizen_never_reads_the_audit_trail_whatever_the_token_says() -> None:
    decision = decide(citizen("patient/AuditEvent.rs"), "search", "AuditEvent", now=NOW)
    assert (decision.effect, decision.rule) == ("deny", "audit-trail.citizen")


def test_a_citizen_denied_a_read_is_told_not_found_others_are_told_forbidden() -> None:
    other = res("Observation", "someone-else")
    hidden = decide(citizen(), "read", "Observation", resource=other, now=NOW)
    assert not hidden.allowed and hidden.conceal
    refused = decide(clinician("user/Patient.r"), "read", "Observation", resource=other, now=NOW)
    assert not refused.allowed and not refused.conceal
    write = decide(citizen(), "update", "Observation", resource=other, now=NOW)
    assert not write.allowed and not write.conceal  # a write is refused, not hidden


class HiddenFromCitizens:
    """A service rule: Observations with the `embargo` tag are not shown to citizens."""

    def refusal(self, request: AccessRequest) -> Refusal | None:
        tags = (request.resource or {}).get("meta", {}).get("tag", [])
        embargoed = any(t.get("code") == "embargo" for t in tags)
        if request.principal.kind == "citizen" and request.reads and embargoed:
            return "not released to the patient yet", "example.embargo"
        return None


def test_a_service_rule_narrows_only_what_the_platform_allowed() -> None:
    rules = ServiceRules(access_rules=(HiddenFromCitizens(),))
    own = res("Observation", "self")
    own["meta"] = {"tag": [{"code": "embargo"}]}
    plain = decide(citizen(), "read", "Observation", resource=own, now=NOW)
    assert plain.allowed  # without the service's rule
    ruled = decide(citizen(), "read", "Observation", resource=own, service_rules=rules, now=NOW)
    assert (ruled.effect, ruled.rule, ruled.conceal) == ("deny", "example.embargo", True)
    gp = decide(clinician(), "read", "Observation", resource=own, service_rules=rules, now=NOW)
    assert gp.allowed
    stranger = res("Observation", "someone-else")
    other = decide(
        citizen(), "read", "Observation", resource=stranger, service_rules=rules, now=NOW
    )
    assert other.rule != "example.embargo"  # the platform's refusal comes first


def _entry() -> dict[str, Any]:
    entry = res("AllergyIntolerance", "self")
    profile = "https://samhandling.no/fhir/StructureDefinition/kj-allergy-intolerance"
    entry["meta"] = {"profile": [profile]}
    return entry


def test_critical_information_writers_are_registered_clinicians_treating() -> None:
    rules = ServiceRules(access_rules=(CriticalInformationWriters(),))
    entry = _entry()

    def verdict(who: Principal) -> str:
        decision = decide(
            who, "update", "AllergyIntolerance", resource=entry, service_rules=rules, now=NOW
        )
        return decision.reason if not decision.allowed else "allowed"

    registered = replace(clinician(), registers=RegisterStanding(None))
    assert verdict(registered) == "allowed"
    assert "not consulted" in verdict(clinician())  # no fact: deny by default
    missing = replace(clinician(), registers=RegisterStanding("HPR 9100001 is not registered"))
    assert "not registered" in verdict(missing)
    btg = replace(clinician(purpose="BTG", reason="unconscious"), registers=RegisterStanding(None))
    assert "purpose of use BTG" in verdict(btg)
    assert "only health personnel" in verdict(system())
    reading = decide(
        clinician(), "read", "AllergyIntolerance", resource=entry, service_rules=rules, now=NOW
    )
    assert reading.allowed  # the rule governs writes only
