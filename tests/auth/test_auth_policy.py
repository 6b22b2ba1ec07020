"""The policy function `decide`, table-driven: one row per rule."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pytest

from fixtures.policykit import (
    CHILD11,
    CHILD13,
    CHILD16,
    LAB,
    NOW,
    OTHER,
    PHARMACIST,
    POA,
    SELF,
    WARD,
    citizen,
    clinician,
    res,
    system,
    teen,
)
from samhandling.auth import (
    Decision,
    PatientRef,
    Principal,
    ServiceRules,
    decide,
    filter_resources,
)
from samhandling.auth.labels import NO_9603, NO_9603_URL, V3_ACT_CODE, V3_CONFIDENTIALITY

TEEN_RULES = ServiceRules(
    name="critical-information", parent_teen_types=frozenset({"AllergyIntolerance", "Observation"})
)
WRITE_RULES = ServiceRules(name="consents", citizen_writable=frozenset({"Consent"}))
TREAT_ONLY = ServiceRules(name="treat-only", purposes=frozenset({"TREAT"}))
LEVEL4 = ServiceRules(name="measurements", min_security_level_clinician=4)
# the permissions operations declare (`Operation.permission`), as the platform hands them in
OPERATIONS = ServiceRules(operations={"everything": "s", "validate": ""})


@dataclass
class Case:
    id: str
    principal: Principal
    interaction: str
    rtype: str | None
    effect: str
    rule: str = "allow"
    kw: dict[str, Any] = field(default_factory=dict)
    emergency: bool = False
    patient_ids: frozenset[str] | None = None


CASES = [
    # --- SMART scopes v2 and v1, interactions -------------------------------------------
    Case("v2-read", clinician("user/*.rs"), "read", "Observation", "allow", kw={"resource": res()}),
    Case(
        "v2-rs-no-create",
        clinician("user/*.rs"),
        "create",
        "Observation",
        "deny",
        "scope",
        kw={"resource": res()},
    ),
    Case("v2-c-no-read", clinician("user/Observation.c"), "read", "Observation", "deny", "scope"),
    Case(
        "v2-c-create",
        clinician("user/Observation.c"),
        "create",
        "Observation",
        "allow",
        kw={"resource": res()},
    ),
    Case(
        "v2-type-mismatch", clinician("user/Condition.rs"), "read", "Observation", "deny", "scope"
    ),
    Case(
        "v2-vread",
        clinician("user/Observation.r"),
        "vread",
        "Observation",
        "allow",
        kw={"patient_ids": frozenset({SELF})},
    ),
    Case(
        "v2-history-r",
        clinician("user/Observation.r"),
        "history",
        "Observation",
        "allow",
        kw={"patient_ids": frozenset({SELF})},
    ),
    Case(
        "v2-history-type-s",
        clinician("user/Observation.r"),
        "history-type",
        "Observation",
        "deny",
        "scope",
    ),
    Case(
        "v2-patch-u",
        clinician("user/Observation.u"),
        "patch",
        "Observation",
        "allow",
        kw={"resource": res()},
    ),
    Case(
        "v2-delete-not-in-crus",
        clinician("user/*.crus"),
        "delete",
        "Observation",
        "deny",
        "scope",
        kw={"resource": res()},
    ),
    Case("v2-search", clinician("user/Observation.s"), "search", "Observation", "allow"),
    Case("v1-read-search", clinician("user/Observation.read"), "search", "Observation", "allow"),
    Case(
        "v1-read-no-update",
        clinician("user/Observation.read"),
        "update",
        "Observation",
        "deny",
        "scope",
        kw={"resource": res()},
    ),
    Case(
        "v1-write-update",
        clinician("user/Observation.write"),
        "update",
        "Observation",
        "allow",
        kw={"resource": res()},
    ),
    Case(
        "v1-write-no-read",
        clinician("user/Observation.write"),
        "read",
        "Observation",
        "deny",
        "scope",
    ),
    Case(
        "v1-star-delete",
        clinician("user/*.*"),
        "delete",
        "Observation",
        "allow",
        kw={"resource": res()},
    ),
    Case("bad-v2-order-ignored", clinician("user/*.sr"), "read", "Observation", "deny", "scope"),
    Case(
        "op-everything",
        clinician("user/Patient.s"),
        "operation:$everything",
        "Patient",
        "allow",
        kw={"patient_ids": frozenset({SELF}), "service_rules": OPERATIONS},
    ),
    Case(
        "op-everything-needs-s",
        clinician("user/Patient.r"),
        "operation:everything",
        "Patient",
        "deny",
        "scope",
        kw={"service_rules": OPERATIONS},
    ),
    Case(
        "op-validate-no-data",
        clinician("user/Patient.r"),
        "operation:validate",
        "Observation",
        "allow",
        kw={"service_rules": OPERATIONS},
    ),
    Case(
        "op-unknown",
        clinician("user/*.cruds"),
        "operation:purge",
        "Patient",
        "deny",
        "request.interaction",
        kw={"service_rules": OPERATIONS},
    ),
    Case(
        "interaction-unknown", clinician(), "frobnicate", "Patient", "deny", "request.interaction"
    ),
    Case(
        "type-mismatch",
        clinician(),
        "read",
        "Condition",
        "deny",
        "request.type",
        kw={"resource": res()},
    ),
    Case(
        "clinician-system-scope-ignored",
        clinician("system/*.cruds"),
        "read",
        "Observation",
        "deny",
        "scope",
    ),
    # --- SMART patient/ launch context and v2 query scopes ----------------------------
    Case(
        "launch-same",
        clinician("patient/*.rs", launch="p1"),
        "read",
        "Observation",
        "allow",
        kw={"resource": res(patient="p1")},
    ),
    Case(
        "launch-other",
        clinician("patient/*.rs", launch="p1"),
        "read",
        "Observation",
        "deny",
        "compartment",
        kw={"resource": res(patient="p2")},
    ),
    Case(
        "launch-search-narrow",
        clinician("patient/*.rs", launch="p1"),
        "search",
        "Observation",
        "narrow",
        patient_ids=frozenset({"p1"}),
    ),
    Case(
        "launch-missing", clinician("patient/*.rs"), "search", "Observation", "deny", "scope.launch"
    ),
    Case(
        "query-scope-search",
        clinician(f"user/Observation.rs?category={LAB}"),
        "search",
        "Observation",
        "narrow",
    ),
    Case(
        "query-scope-lab-read",
        clinician(f"user/Observation.rs?category={LAB}"),
        "read",
        "Observation",
        "allow",
        kw={
            "resource": res(
                category=[{"coding": [{"system": LAB.split("|")[0], "code": "laboratory"}]}]
            )
        },
    ),
    Case(
        "query-scope-vitals-read",
        clinician(f"user/Observation.rs?category={LAB}"),
        "read",
        "Observation",
        "deny",
        "scope",
        kw={
            "resource": res(
                category=[{"coding": [{"system": LAB.split("|")[0], "code": "vital-signs"}]}]
            )
        },
    ),
    # --- clinicians: purpose of use, attestation age, emergency --------------------------
    Case(
        "no-attestation",
        clinician(attested=False),
        "read",
        "Observation",
        "deny",
        "attestation.missing",
        kw={"resource": res()},
    ),
    Case(
        "no-purpose",
        clinician(purpose=None),
        "read",
        "Observation",
        "deny",
        "purpose.missing",
        kw={"resource": res()},
    ),
    Case(
        "unknown-purpose",
        clinician(purpose="HMARKT"),
        "read",
        "Observation",
        "deny",
        "purpose.not-accepted",
        kw={"resource": res()},
    ),
    Case(
        "attestation-59min",
        clinician(minutes=59),
        "read",
        "Observation",
        "allow",
        kw={"resource": res()},
    ),
    Case(
        "attestation-61min",
        clinician(minutes=61),
        "read",
        "Observation",
        "deny",
        "attestation.stale",
        kw={"resource": res()},
    ),
    Case(
        "attestation-future",
        clinician(minutes=-30),
        "read",
        "Observation",
        "deny",
        "attestation.time",
        kw={"resource": res()},
    ),
    Case(
        "etreat-no-reason",
        clinician(purpose="ETREAT"),
        "read",
        "Observation",
        "deny",
        "emergency.reason",
        kw={"resource": res()},
    ),
    Case(
        "btg-blank-reason",
        clinician(purpose="BTG", reason="  "),
        "read",
        "Observation",
        "deny",
        "emergency.reason",
        kw={"resource": res()},
    ),
    Case(
        "etreat-reason",
        clinician(purpose="ETREAT", reason="Bevisstløs i mottak"),
        "read",
        "Observation",
        "allow",
        kw={"resource": res()},
        emergency=True,
    ),
    Case(
        "btg-reason",
        clinician(purpose="BTG", reason="Hjertestans"),
        "search",
        "Observation",
        "allow",
        emergency=True,
    ),
    Case(
        "coc-allowed",
        clinician(purpose="COC"),
        "read",
        "Observation",
        "allow",
        kw={"resource": res()},
    ),
    Case(
        "coc-not-in-service",
        clinician(purpose="COC"),
        "read",
        "Observation",
        "deny",
        "purpose.not-accepted",
        kw={"resource": res(), "service_rules": TREAT_ONLY},
    ),
    Case("no-patient-data-no-purpose", clinician(attested=False), "read", "Practitioner", "allow"),
    Case(
        "security-level-3-vs-4",
        clinician(level=3),
        "read",
        "Observation",
        "deny",
        "security-level",
        kw={"resource": res(), "service_rules": LEVEL4},
    ),
    Case(
        "attested-patient",
        clinician(patients=(PatientRef("05858540072", "p1"),)),
        "read",
        "Observation",
        "allow",
        kw={"resource": res(patient="p1")},
    ),
    Case(
        "not-attested-patient",
        clinician(patients=(PatientRef("05858540072", "p1"),)),
        "read",
        "Observation",
        "deny",
        "compartment",
        kw={"resource": res(patient="p2")},
    ),
    Case(
        "attested-search-narrow",
        clinician(patients=(PatientRef("05858540072", "p1"),)),
        "search",
        "Observation",
        "narrow",
        patient_ids=frozenset({"p1"}),
    ),
    Case(
        "attested-unresolved",
        clinician(patients=(PatientRef("05858540072"),)),
        "search",
        "Observation",
        "deny",
        "attestation.patients",
    ),
    # --- pharmacist: limited scopes -----------------------------------------------------
    Case(
        "pharmacist-medlist",
        PHARMACIST,
        "read",
        "MedicationStatement",
        "allow",
        kw={"resource": res("MedicationStatement")},
    ),
    Case("pharmacist-allergy", PHARMACIST, "search", "AllergyIntolerance", "allow"),
    Case(
        "pharmacist-dispense",
        PHARMACIST,
        "create",
        "MedicationDispense",
        "allow",
        kw={"resource": res("MedicationDispense")},
    ),
    Case("pharmacist-no-documents", PHARMACIST, "search", "DocumentReference", "deny", "scope"),
    Case("pharmacist-no-lab", PHARMACIST, "read", "Observation", "deny", "scope"),
    Case(
        "pharmacist-no-medlist-write", PHARMACIST, "update", "MedicationStatement", "deny", "scope"
    ),
    # --- systems -------------------------------------------------------------------------
    Case("system-cruds", system(), "delete", "Observation", "allow", kw={"resource": res()}),
    Case("system-search", system(), "search", "Observation", "allow"),
    Case("system-user-scope", system("user/*.cruds"), "read", "Observation", "deny", "scope"),
    Case(
        "system-narrow-scope",
        system("system/Observation.c"),
        "read",
        "Observation",
        "deny",
        "scope",
    ),
    Case(
        "system-very-restricted",
        system(),
        "read",
        "Observation",
        "deny",
        "label",
        kw={"resource": res("Observation", SELF, (V3_CONFIDENTIALITY, "V"))},
    ),
    # --- security labels for clinicians --------------------------------------------------
    Case(
        "clin-nopat-ok",
        clinician(),
        "read",
        "Observation",
        "allow",
        kw={"resource": res("Observation", SELF, (V3_ACT_CODE, "NOPAT"))},
    ),
    Case(
        "clin-blocked",
        clinician(),
        "read",
        "DocumentReference",
        "deny",
        "label.blocked",
        kw={"resource": res("DocumentReference", SELF, (NO_9603, "NORS"))},
    ),
    Case(
        "clin-blocked-btg",
        clinician(purpose="BTG", reason="x"),
        "read",
        "DocumentReference",
        "deny",
        "label.blocked",
        kw={"resource": res("DocumentReference", SELF, (NO_9603, "NORS"))},
    ),
    Case(
        "clin-v-treat",
        clinician(),
        "read",
        "Observation",
        "deny",
        "label.very-restricted",
        kw={"resource": res("Observation", SELF, (V3_CONFIDENTIALITY, "V"))},
    ),
    Case(
        "clin-v-btg",
        clinician(purpose="BTG", reason="Akutt"),
        "read",
        "Observation",
        "allow",
        kw={"resource": res("Observation", SELF, (V3_CONFIDENTIALITY, "V"))},
        emergency=True,
    ),
    Case(
        "clin-r-coc",
        clinician(purpose="COC"),
        "read",
        "Observation",
        "deny",
        "label.restricted",
        kw={"resource": res("Observation", SELF, (V3_CONFIDENTIALITY, "R"))},
    ),
    Case(
        "clin-r-treat",
        clinician(),
        "read",
        "Observation",
        "allow",
        kw={"resource": res("Observation", SELF, (V3_CONFIDENTIALITY, "R"))},
    ),
    Case(
        "clin-composition-v",
        clinician(),
        "read",
        "Composition",
        "deny",
        "label.very-restricted",
        kw={"resource": {**res("Composition"), "confidentiality": "V"}},
    ),
    # --- citizens: compartment, children, proxies -----------------------------------------
    Case("citizen-own", citizen(), "read", "Observation", "allow", kw={"resource": res()}),
    Case(
        "citizen-other",
        citizen(),
        "read",
        "Observation",
        "deny",
        "citizen.compartment",
        kw={"resource": res(patient=OTHER)},
    ),
    Case(
        "child-11", citizen(), "read", "Observation", "allow", kw={"resource": res(patient=CHILD11)}
    ),
    Case(
        "child-13-allergy-default",
        citizen(),
        "read",
        "AllergyIntolerance",
        "deny",
        "citizen.representation",
        kw={"resource": res("AllergyIntolerance", CHILD13)},
    ),
    Case(
        "child-13-allergy-opened",
        citizen(),
        "read",
        "AllergyIntolerance",
        "allow",
        kw={"resource": res("AllergyIntolerance", CHILD13), "service_rules": TEEN_RULES},
    ),
    Case(
        "child-13-lab-never",
        citizen(),
        "read",
        "Observation",
        "deny",
        "citizen.representation",
        kw={"resource": res(patient=CHILD13), "service_rules": TEEN_RULES},
    ),
    Case(
        "child-13-documents-never",
        citizen(),
        "read",
        "DocumentReference",
        "deny",
        "citizen.representation",
        kw={
            "resource": res("DocumentReference", CHILD13),
            "service_rules": replace(
                TEEN_RULES, parent_teen_types=frozenset({"DocumentReference"})
            ),
        },
    ),
    Case(
        "child-13-lab-report-never",
        citizen(),
        "search",
        "DiagnosticReport",
        "deny",
        "citizen.representation",
        kw={"patient_ids": frozenset({CHILD13})},
    ),
    Case(
        "child-16",
        citizen(),
        "read",
        "AllergyIntolerance",
        "deny",
        "citizen.representation",
        kw={"resource": res("AllergyIntolerance", CHILD16), "service_rules": TEEN_RULES},
    ),
    Case(
        "power-of-attorney",
        citizen(),
        "read",
        "DocumentReference",
        "allow",
        kw={"resource": res("DocumentReference", POA)},
    ),
    Case(
        "guardian",
        citizen(),
        "search",
        "MedicationStatement",
        "allow",
        kw={"patient_ids": frozenset({WARD})},
    ),
    Case(
        "citizen-search-narrow",
        citizen(),
        "search",
        "Observation",
        "narrow",
        patient_ids=frozenset({SELF, CHILD11, POA, WARD}),
    ),
    Case(
        "citizen-search-narrow-teen-opened",
        citizen(),
        "search",
        "AllergyIntolerance",
        "narrow",
        kw={"service_rules": TEEN_RULES},
        patient_ids=frozenset({SELF, CHILD11, CHILD13, POA, WARD}),
    ),
    Case(
        "citizen-empty-targets-narrow",
        citizen(),
        "search",
        "Observation",
        "narrow",
        kw={"patient_ids": frozenset()},
        patient_ids=frozenset({SELF, CHILD11, POA, WARD}),
    ),
    Case(
        "citizen-unresolved",
        citizen(resolved=False),
        "search",
        "Observation",
        "deny",
        "citizen.compartment",
    ),
    Case(
        "citizen-read-only",
        citizen("patient/*.cruds"),
        "create",
        "Observation",
        "deny",
        "citizen.read-only",
        kw={"resource": res()},
    ),
    Case(
        "citizen-update-denied",
        citizen("patient/*.cruds"),
        "update",
        "Observation",
        "deny",
        "citizen.read-only",
        kw={"resource": res()},
    ),
    Case(
        "citizen-write-allowed",
        citizen("patient/*.rs patient/Consent.cu"),
        "create",
        "Consent",
        "allow",
        kw={"resource": res("Consent", SELF), "service_rules": WRITE_RULES},
    ),
    Case(
        "citizen-write-other",
        citizen("patient/*.rs patient/Consent.cu"),
        "create",
        "Consent",
        "deny",
        "citizen.compartment",
        kw={"resource": res("Consent", OTHER), "service_rules": WRITE_RULES},
    ),
    Case(
        "citizen-never-delete",
        citizen("patient/*.cruds"),
        "delete",
        "Consent",
        "deny",
        "citizen.read-only",
        kw={"resource": res("Consent"), "service_rules": WRITE_RULES},
    ),
    Case(
        "citizen-scope",
        citizen("patient/Observation.rs"),
        "read",
        "MedicationStatement",
        "deny",
        "scope",
        kw={"resource": res("MedicationStatement")},
    ),
    Case(
        "citizen-level-3",
        citizen(level=3),
        "read",
        "Observation",
        "deny",
        "security-level",
        kw={"resource": res()},
    ),
    Case(
        "citizen-binary-unknown",
        citizen(),
        "read",
        "Binary",
        "deny",
        "compartment.unknown",
        kw={"resource": {"resourceType": "Binary", "id": "b"}},
    ),
    Case(
        "citizen-binary-known",
        citizen(),
        "read",
        "Binary",
        "allow",
        kw={"resource": {"resourceType": "Binary", "id": "b"}, "patient_ids": frozenset({SELF})},
    ),
    Case("citizen-practitioner", citizen(), "read", "Practitioner", "allow"),
    Case(
        "citizen-patient-resource",
        citizen(),
        "read",
        "Patient",
        "allow",
        kw={"resource": {"resourceType": "Patient", "id": CHILD11}},
    ),
    # --- security labels for citizens ----------------------------------------------------
    Case(
        "citizen-nopat",
        citizen(),
        "read",
        "Observation",
        "deny",
        "label.withheld",
        kw={"resource": res("Observation", SELF, (V3_ACT_CODE, "NOPAT"))},
    ),
    Case(
        "citizen-norn",
        citizen(),
        "read",
        "DocumentReference",
        "deny",
        "label.withheld",
        kw={"resource": res("DocumentReference", SELF, (NO_9603, "NORN_FFL"))},
    ),
    Case(
        "citizen-noru-url",
        citizen(),
        "read",
        "DiagnosticReport",
        "deny",
        "label.withheld",
        kw={"resource": res("DiagnosticReport", SELF, (NO_9603_URL, "NORU"))},
    ),
    Case(
        "citizen-docref-securitylabel",
        citizen(),
        "read",
        "DocumentReference",
        "deny",
        "label.withheld",
        kw={
            "resource": {
                **res("DocumentReference"),
                "securityLabel": [{"coding": [{"system": NO_9603, "code": "NORN_FPB"}]}],
            }
        },
    ),
    Case(
        "citizen-own-norn-forans",
        citizen(),
        "read",
        "Observation",
        "allow",
        kw={"resource": res("Observation", SELF, (NO_9603, "NORN_FORANS"))},
    ),
    Case(
        "parent-norn-forans",
        citizen(),
        "read",
        "Observation",
        "deny",
        "label.parents",
        kw={"resource": res("Observation", CHILD11, (NO_9603, "NORN_FORANS"))},
    ),
    Case(
        "youth-norn-ungdom",
        teen(),
        "read",
        "Observation",
        "deny",
        "label.youth",
        kw={"resource": res("Observation", CHILD13, (NO_9603, "NORN_UNGDOM"))},
    ),
    Case(
        "youth-17-norn-ungdom",
        teen(date(2008, 1, 1)),
        "read",
        "Observation",
        "allow",
        kw={"resource": res("Observation", CHILD13, (NO_9603, "NORN_UNGDOM"))},
    ),
    Case(
        "parent-norn-ungdom",
        citizen(),
        "read",
        "AllergyIntolerance",
        "allow",
        kw={
            "resource": res("AllergyIntolerance", CHILD13, (NO_9603, "NORN_UNGDOM")),
            "service_rules": TEEN_RULES,
        },
    ),
    Case(
        "poa-very-restricted",
        citizen(),
        "read",
        "Observation",
        "deny",
        "label.very-restricted",
        kw={"resource": res("Observation", POA, (V3_CONFIDENTIALITY, "V"))},
    ),
    Case(
        "self-very-restricted",
        citizen(),
        "read",
        "Observation",
        "allow",
        kw={"resource": res("Observation", SELF, (V3_CONFIDENTIALITY, "V"))},
    ),
    Case(
        "citizen-blocked-own",
        citizen(),
        "read",
        "DocumentReference",
        "allow",
        kw={"resource": res("DocumentReference", SELF, (NO_9603, "NORS"))},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_decide(case: Case) -> None:
    decision = decide(case.principal, case.interaction, case.rtype, now=NOW, **case.kw)
    assert (decision.effect, decision.rule) == (case.effect, case.rule), decision.reason
    assert decision.emergency is case.emergency
    assert decision.reason
    if case.emergency:
        assert decision.emergency_reason
    if case.patient_ids is not None:
        assert decision.patient_ids == case.patient_ids
    for pid in ("12837510110", "21908345182", "05858540072", "14851252038"):
        assert pid not in decision.reason


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


def test_age_boundary_on_the_12th_birthday() -> None:
    p = citizen()
    day_before = replace(p.acts_for[1], birth_date=date(2013, 6, 2))
    on_birthday = replace(p.acts_for[1], birth_date=date(2013, 6, 1))
    for acting, effect in ((day_before, "allow"), (on_birthday, "deny")):
        who = replace(p, acts_for=(p.acts_for[0], acting))
        assert (
            decide(who, "read", "Condition", resource=res("Condition", CHILD11), now=NOW).effect
            == effect
        )


def test_emergency_decision_feeds_the_audit_trail() -> None:
    p = clinician(purpose="BTG", reason="Hjertestans i mottak")
    decision = decide(p, "read", "Observation", resource=res(), now=NOW)
    assert decision.audit() == {
        "effect": "allow",
        "reason": decision.reason,
        "rule": "allow",
        "emergency": True,
        "emergency_reason": "Hjertestans i mottak",
        "purpose_of_use": "BTG",
        "scopes": ["user/*.crus"],
    }


def test_query_scope_filters_are_returned_for_searches() -> None:
    decision = decide(
        clinician(f"user/Observation.rs?category={LAB}"), "search", "Observation", now=NOW
    )
    assert decision.scope_filters == ((("category", LAB),),)


def test_filter_resources_drops_withheld_and_other_patients() -> None:
    results = [
        res(),
        res("Observation", SELF, (V3_ACT_CODE, "NOPAT")),
        res(patient=OTHER),
        res(patient=CHILD13),
        res(patient=CHILD11),
    ]
    kept, withheld = filter_resources(citizen(), results, now=NOW)
    assert [r["subject"]["reference"] for r in kept] == ["Patient/self", "Patient/child11"]
    assert withheld == 3


def test_decision_is_pure_and_deterministic() -> None:
    p = citizen()
    first: Decision = decide(p, "search", "Observation", now=NOW)
    assert decide(p, "search", "Observation", now=NOW) == first


@pytest.mark.parametrize(
    "reference",
    [
        f"https://other-hospital.example/fhir/Patient/{SELF}",
        f"https://other-hospital.example/fhir/Patient/{SELF}/_history/3",
        f"urn:uuid:Patient/{SELF}",
    ],
)
def test_absolute_patient_urls_name_no_local_patient(reference: str) -> None:
    """Only a relative `Patient/<id>` names a patient here (issue 16, item 3)."""
    resource = res() | {"subject": {"reference": reference}}
    decision = decide(citizen(), "read", "Observation", resource=resource, now=NOW)
    assert not decision.allowed and decision.rule == "compartment.unknown"
    own = res() | {"subject": {"reference": f"Patient/{SELF}/_history/3"}}
    assert decide(citizen(), "read", "Observation", resource=own, now=NOW).allowed
