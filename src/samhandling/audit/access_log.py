"""The citizen's view of the audit trail: who accessed my data, when and why.

Plain terms, as the national portal shows them: the organisation (legal entity, unit and
department, as the trust framework attested them), the client system, the role (the
health-personnel authorisation), the time, the purpose, the service and whether it was
emergency access — never other patients, never staff identifiers beyond that. A citizen
who looked on the patient's behalf (a parent, someone holding a power of attorney) is
named, with the relation as the role; the patient's own look-ups are left out, but not
their own grants and revocations of a power of attorney (who else may look).

Newest first, in pages of `_count` (default 100, at most 1,000); a `next` parameter holds
the url of the following page (`_after`, by recorded time and id, stable while new
accesses come in). Filters: `date` (with ge/gt/le/lt/eq prefixes, repeatable) or
`start`/`end` (inclusive days or instants), and `organisation` (the organisation number of
the legal entity that accessed).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from samhandling.audit.events import EMERGENCY_REASON_EXTENSION, HEALTHCARE_SERVICE_EXTENSION
from samhandling.audit.queries import AuditSearch, audit_rows, date_bounds, parse_after
from samhandling.audit.queries import parse_count as audit_count
from samhandling.audit.stored_form import event_of
from samhandling.fhir.instants import format_instant
from samhandling.fhir.outcome import FhirError, error

PURPOSES = {
    "TREAT": "behandling",
    "ETREAT": "akutt behandling",
    "COC": "koordinering av helsehjelp",
    "BTG": "nødtilgang",
}
DEFAULT_COUNT = 100
PARAMETERS = frozenset({"_count", "_after", "date", "start", "end", "organisation"})


def parse_access_log(patient_id: str, parameters: dict[str, list[Any]]) -> AuditSearch:
    """The page and filters of an access-log request; anything unknown is a 400."""
    for name in parameters:
        if name not in PARAMETERS:
            message = f"Unknown parameter '{name}' for $access-log"
            raise FhirError(400, error("not-supported", message, name))
    first = {name: str(values[0]) for name, values in parameters.items() if values}
    dates = [bound for value in parameters.get("date", []) for bound in date_bounds(str(value))]
    if "start" in first:
        dates += [b for b in date_bounds(first["start"]) if b[0] == ">="]
    if "end" in first:
        dates += [b for b in date_bounds(first["end"]) if b[0] == "<"]
    search = AuditSearch(
        patient=patient_id,
        outcome="0",
        others_only=True,
        date_ranges=tuple(dates),
        organisation=first.get("organisation") or None,
        count=audit_count(first.get("_count", str(DEFAULT_COUNT))),
    )
    return replace(search, after=parse_after(first["_after"])) if "_after" in first else search


def access_log(connection: Connection, search: AuditSearch) -> tuple[dict[str, Any], str | None]:
    """A Parameters resource with one `access` per recorded access by somebody else, and
    the `_after` value of the next page (None: this is the last)."""
    rows, next_after = audit_rows(connection, search)
    return {"resourceType": "Parameters", "parameter": [_access(row) for row in rows]}, next_after


def _access(row: Any) -> dict[str, Any]:
    event = event_of(row["content"])
    parts: list[dict[str, Any]] = [
        {"name": "time", "valueInstant": format_instant(row["recorded_at_us"])},
        {"name": "action", "valueString": _action(row["action"], row["interaction"])},
    ]
    organisation = _organisation(event)
    if organisation:
        parts.append({"name": "organisation", "valueString": organisation})
    client = _client(event)
    if client:
        parts.append({"name": "system", "valueString": client})
    if row["purpose_of_use"]:
        purpose = PURPOSES.get(row["purpose_of_use"], row["purpose_of_use"])
        parts.append({"name": "purpose", "valueString": purpose})
    role = _role(event)
    if role:
        parts.append({"name": "role", "valueString": role})
    representative = _representative(event)
    if representative:
        parts.append({"name": "representative", "valueString": representative})
    service = _extension(event, HEALTHCARE_SERVICE_EXTENSION)
    if service:
        parts.append({"name": "service", "valueString": service.get("display") or service["code"]})
    parts.append({"name": "emergency", "valueBoolean": bool(row["emergency"])})
    reason = _extension(event, EMERGENCY_REASON_EXTENSION)
    if row["emergency"] and reason:
        parts.append({"name": "emergencyReason", "valueString": reason})
    return {"name": "access", "part": parts}


ROLES = {
    "LE": "lege",
    "SP": "sykepleier",
    "FA1": "farmasøyt",
    "FA2": "reseptar",
    "PS": "psykolog",
    "PRN": "forelder",
    "POWATT": "fullmektig",
    "GUARD": "verge",
}
ORGANISATION_LEVELS = ("legal-entity", "point-of-care", "department")


def _role(event: dict[str, Any]) -> str | None:
    for role in event["agent"][0].get("role", []):
        for coding in role.get("coding", []):
            return ROLES.get(coding.get("code"), coding.get("code"))
    return None


def _representative(event: dict[str, Any]) -> str | None:
    """The name of a citizen who looked on the patient's behalf (a parent, an attorney);
    health personnel are named by organisation and role only."""
    user = event["agent"][0]
    if user.get("type", {}).get("text") != "representative":
        return None
    display: str | None = user.get("who", {}).get("display")
    return display


OWN_ACTIONS = {
    "operation:grant-power-of-attorney": "ga fullmakt",
    "operation:revoke-power-of-attorney": "trakk tilbake fullmakt",
}


def _action(code: str, interaction: str) -> str:
    if interaction in OWN_ACTIONS:
        return OWN_ACTIONS[interaction]
    return {"C": "registrerte", "R": "leste", "U": "endret", "D": "slettet"}.get(code, "søkte i")


def _organisation(event: dict[str, Any]) -> str | None:
    """ "Helse Fjordbyen HF, Fjordbyen sykehus, Medisinsk avdeling (991000046)": the names
    from the legal entity down, then the legal entity's organisation number. Events
    recorded before the organisation agents existed name the client system's orgnr."""
    levels = {
        agent.get("type", {}).get("text"): agent.get("who", {}) for agent in event["agent"][1:]
    }
    names: list[str] = []
    for level in ORGANISATION_LEVELS:
        name = levels.get(level, {}).get("display")
        if name and name not in names:
            names.append(name)
    number = (levels.get("legal-entity") or levels.get("client-system") or {}).get("identifier")
    text = ", ".join(names)
    if number and number.get("value"):
        text = f"{text} ({number['value']})" if text else number["value"]
    return text or None


def _client(event: dict[str, Any]) -> str | None:
    for agent in event["agent"][1:]:
        if agent.get("type", {}).get("text") == "client-system":
            display: str | None = agent.get("who", {}).get("display")
            return display
    return None


def _extension(event: dict[str, Any], url: str) -> Any:
    for extension in event.get("extension", []):
        if extension.get("url") == url:
            return next((v for k, v in extension.items() if k.startswith("value")), None)
    return None
