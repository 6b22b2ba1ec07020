"""The top-level elements that tell whose a resource is, how it is labelled and whether it
stands: what the access policy reads of every resource it judges (`auth/facts.py`:
its patient, `auth/compartment.patient_ids_of`; its labels, `auth/labels.labels_of`; its
status, entered in error), and so what every resource's policy facts keep
(`store/policy_facts.py`). One list, so that the two cannot drift apart; a test records
what the policy reads and holds it to this list (`tests/auth/test_policy_facts.py`)."""

from __future__ import annotations

JUDGED_ELEMENTS = frozenset(
    {
        "resourceType",
        "id",
        "meta",
        "status",
        "verificationStatus",
        "securityLabel",
        "confidentiality",
        "subject",
        "patient",
        "beneficiary",
        "securityContext",
        "criteria",
        "_criteria",
    }
)
