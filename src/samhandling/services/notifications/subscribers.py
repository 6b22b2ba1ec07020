"""Who a subscription delivers to, as delivery judges it: the creator's principal, recorded
when the subscription is written and rebuilt for the policy at each delivery.

Only systems and citizens may subscribe. A clinician's access rests on an attestation made
for one request (purpose of use, patients, at most an hour old): it cannot stand for
notifications sent later, so a clinician's subscription is refused at creation. What is
recorded is what the policy reads (kind, issuer, subject, scopes, security level, the client,
and for a citizen whom they act for by Patient id, relation and birth date), and the audit
identity (`Principal.audit_agent`); never a full national ID.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from samhandling.auth.principal import ActingFor, ClientInfo, Principal
from samhandling.auth.scopes import parse_scopes

SUBSCRIBER_KINDS = ("system", "citizen")


def refusal(principal: Principal | None) -> str | None:
    """Why this caller may not own a subscription, or None."""
    if principal is None:
        return None
    if principal.kind not in SUBSCRIBER_KINDS:
        return (
            "only systems and citizens may subscribe: a clinician's attestation is made for "
            "one request and cannot authorise notifications sent later"
        )
    return None


def record(principal: Principal | None) -> dict[str, Any]:
    """The subscriber as stored (None: a trusted internal caller, delivered as a system)."""
    if principal is None:
        return {"kind": "internal"}
    return {
        "kind": principal.kind,
        "issuer": principal.issuer,
        "subject": principal.subject,
        "scopes": str(principal.scopes),
        "security_level": principal.security_level,
        "client_id": principal.client.client_id,
        "acts_for": [
            {
                "relation": a.relation,
                "patient_id": a.patient_id,
                "birth_date": a.birth_date.isoformat() if a.birth_date else None,
                "masked_pid": a.masked_pid,
            }
            for a in principal.acts_for
        ],
        "audit": principal.audit_agent(),
    }


def principal_of(subscriber: dict[str, Any]) -> Principal | None:
    """The principal delivery judges with (None: an internal subscriber, sees everything)."""
    if subscriber.get("kind") == "internal":
        return None
    acts_for = tuple(
        ActingFor(
            pid=a.get("masked_pid") or "",
            relation=a["relation"],
            birth_date=date.fromisoformat(a["birth_date"]) if a.get("birth_date") else None,
            patient_id=a.get("patient_id"),
        )
        for a in subscriber.get("acts_for", [])
    )
    return Principal(
        kind=subscriber["kind"],
        issuer=subscriber["issuer"],
        subject=subscriber.get("subject"),
        security_level=subscriber.get("security_level"),
        client=ClientInfo(client_id=subscriber.get("client_id")),
        scopes=parse_scopes(subscriber.get("scopes", "")),
        acts_for=acts_for,
    )
