"""The citizen's view of the audit trail: who accessed my data, when and why.

Plain terms, as the national portal shows them: the organisation, the role (the
health-personnel authorisation), the time, the purpose, the service and whether it was
emergency access — never other patients, never staff identifiers beyond that.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, select

from samhandling.audit.events import EMERGENCY_REASON_EXTENSION, HEALTHCARE_SERVICE_EXTENSION
from samhandling.store.audit_tables import audit_event, audit_patient
from samhandling.store.records import format_instant

PURPOSES = {
    "TREAT": "behandling",
    "ETREAT": "akutt behandling",
    "COC": "koordinering av helsehjelp",
    "BTG": "nødtilgang",
}
MAX_ENTRIES = 500


def access_log(connection: Connection, patient_id: str) -> dict[str, Any]:
    """A Parameters resource with one `access` per recorded access by somebody else."""
    rows = connection.execute(
        select(audit_event)
        .join(audit_patient, audit_patient.c.event_id == audit_event.c.event_id)
        .where(
            audit_patient.c.patient_id == patient_id,
            audit_event.c.agent_kind != "citizen",
            audit_event.c.outcome == "0",
        )
        .order_by(audit_event.c.recorded_at_us.desc())
        .limit(MAX_ENTRIES)
    ).mappings()
    return {"resourceType": "Parameters", "parameter": [_access(row) for row in rows]}


def _access(row: Any) -> dict[str, Any]:
    event = orjson.loads(row["content"])
    parts: list[dict[str, Any]] = [
        {"name": "time", "valueInstant": format_instant(row["recorded_at_us"])},
        {"name": "action", "valueString": _action(row["action"])},
    ]
    organisation = _organisation(event)
    if organisation:
        parts.append({"name": "organisation", "valueString": organisation})
    if row["purpose_of_use"]:
        purpose = PURPOSES.get(row["purpose_of_use"], row["purpose_of_use"])
        parts.append({"name": "purpose", "valueString": purpose})
    role = _role(event)
    if role:
        parts.append({"name": "role", "valueString": role})
    service = _extension(event, HEALTHCARE_SERVICE_EXTENSION)
    if service:
        parts.append({"name": "service", "valueString": service.get("display") or service["code"]})
    parts.append({"name": "emergency", "valueBoolean": bool(row["emergency"])})
    reason = _extension(event, EMERGENCY_REASON_EXTENSION)
    if row["emergency"] and reason:
        parts.append({"name": "emergencyReason", "valueString": reason})
    return {"name": "access", "part": parts}


ROLES = {"LE": "lege", "SP": "sykepleier", "FA1": "farmasøyt", "FA2": "reseptar", "PS": "psykolog"}


def _role(event: dict[str, Any]) -> str | None:
    for role in event["agent"][0].get("role", []):
        for coding in role.get("coding", []):
            return ROLES.get(coding.get("code"), coding.get("code"))
    return None


def _action(code: str) -> str:
    return {"C": "registrerte", "R": "leste", "U": "endret", "D": "slettet"}.get(code, "søkte i")


def _organisation(event: dict[str, Any]) -> str | None:
    for agent in event.get("agent", []):
        who = agent.get("who", {})
        if not agent.get("requestor") and who:
            identifier = who.get("identifier", {}).get("value")
            name = who.get("display")
            return f"{name} ({identifier})" if identifier else name
    return None


def _extension(event: dict[str, Any], url: str) -> Any:
    for extension in event.get("extension", []):
        if extension.get("url") == url:
            return next((v for k, v in extension.items() if k.startswith("value")), None)
    return None
