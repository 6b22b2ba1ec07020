"""Turning an AuditRecord into a FHIR R4 AuditEvent shaped after IHE BALP.

BALP (Basic Audit Log Patterns) "RESTful activity": type `rest`, subtype the FHIR
interaction, the user and the client system as agents, the resource and the patients as
entities, the purpose of use as `purposeOfEvent`. Emergency access, the attested healthcare
service and the access decision are extensions. The reason a user gave for a change (a
clinician's for `$block`/`$unblock`) is a `detail` of the changed resource's entity, type
"reason" (R4 AuditEvent.entity.detail, "additional information about the entity"; BALP
leaves it open): `purposeOfEvent` stays the coded purpose of use. The transactions of IHE
MHD get MHD's shapes on top (`ihe_transactions`).
"""

from __future__ import annotations

from typing import Any

from samhandling.audit import ihe_transactions
from samhandling.audit.records import AuditRecord, Destination
from samhandling.fhir.instants import format_instant
from samhandling.identifiers.identifier_systems import (
    HPR_SYSTEM,
    ORGANISATION_NUMBER_SYSTEM,
    RESH_SYSTEM,
)
from samhandling.terminology.codes import lookup

EXTENSION_BASE = "https://samhandling.no/fhir/StructureDefinition"
EMERGENCY_EXTENSION = f"{EXTENSION_BASE}/emergency-access"
EMERGENCY_REASON_EXTENSION = f"{EXTENSION_BASE}/emergency-access-reason"
DECISION_EXTENSION = f"{EXTENSION_BASE}/access-decision"
# The attested healthcare service (helsehjelpsområde, Volven 8655): part of "why".
HEALTHCARE_SERVICE_EXTENSION = f"{EXTENSION_BASE}/healthcare-service"
HEALTHCARE_SERVICE_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.8655"
REASON_DETAIL = "reason"  # AuditEvent.entity.detail.type of a change's reason
PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
EVENT_TYPE = {
    "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
    "code": "rest",
    "display": "RESTful Operation",
}
INTERACTION_SYSTEM = "http://hl7.org/fhir/restful-interaction"
AUTHORIZATION_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.9060"  # health-personnel authorisation
ROLE_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
#: a representative's relation to the patient (the acts_for claim) as a v3 RoleCode
REPRESENTATIVE_ROLES = {"parent": "PRN", "power-of-attorney": "POWATT", "guardian": "GUARD"}


def audit_event(record: AuditRecord) -> dict[str, Any]:
    """The AuditEvent resource for `record` (no id or meta: the trail assigns those)."""
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": EVENT_TYPE,
        "subtype": [_subtype(record.interaction)],
        "action": record.action,
        "recorded": format_instant(record.recorded_at_us),
        "outcome": record.outcome,
        "agent": _agents(record.agent, record.source_address)
        + [_destination(d) for d in record.destinations],
        "source": {"observer": {"display": "samhandling"}},
    }
    if record.outcome_description:
        event["outcomeDesc"] = record.outcome_description
    purpose = record.agent.get("purpose_of_use")
    if purpose:
        event["purposeOfEvent"] = [{"coding": [{"system": PURPOSE_SYSTEM, "code": purpose}]}]
    entities = _entities(record)
    if entities:
        event["entity"] = entities
    extensions = _extensions(record)
    if extensions:
        event["extension"] = extensions
    transaction = ihe_transactions.transaction_of(record)
    if transaction is not None:
        ihe_transactions.shape(event, record, transaction)
    return event


def _subtype(interaction: str) -> dict[str, str]:
    if interaction.startswith("operation:"):
        return {"system": "urn:samhandling:operation", "code": interaction.split(":", 1)[1]}
    return {"system": INTERACTION_SYSTEM, "code": interaction}


def _agents(agent: dict[str, Any], source_address: str | None) -> list[dict[str, Any]]:
    user: dict[str, Any] = {"requestor": True}
    who: dict[str, Any] = {}
    if agent.get("hpr_number"):
        who["identifier"] = {"system": HPR_SYSTEM, "value": agent["hpr_number"]}
    if agent.get("name"):
        who["display"] = agent["name"]
    elif agent.get("masked_pid"):
        who["display"] = f"person {agent['masked_pid']}"
    if who:
        user["who"] = who
    if agent.get("kind"):
        user["type"] = {"text": agent["kind"]}
    if agent.get("authorization_code"):
        coding = {"system": AUTHORIZATION_SYSTEM, "code": agent["authorization_code"]}
        user["role"] = [{"coding": [coding]}]
    elif agent.get("relation") in REPRESENTATIVE_ROLES:
        coding = {"system": ROLE_CODE_SYSTEM, "code": REPRESENTATIVE_ROLES[agent["relation"]]}
        user["role"] = [{"coding": [coding]}]
    if agent.get("decision_ref"):
        user["policy"] = [agent["decision_ref"]]
    agents = [user]
    organisation = agent.get("organisation") or agent.get("point_of_care")
    if organisation or agent.get("client_name") or source_address:
        system: dict[str, Any] = {"requestor": False, "type": {"text": "client-system"}}
        who = {"display": agent.get("client_name") or "client"}
        if organisation:
            who["identifier"] = {"system": ORGANISATION_NUMBER_SYSTEM, "value": organisation}
        system["who"] = who
        if source_address:  # BALP: the client agent's network address (type 2: IP address)
            system["network"] = {"address": source_address, "type": "2"}
        agents.append(system)
    return agents + _organisation_agents(agent)


# DICOM "Destination Role ID" (the role of the responding gateway in an IHE XCA audit)
DESTINATION_ROLE = {
    "system": "http://dicom.nema.org/resources/ontology/DCM",
    "code": "110152",
    "display": "Destination Role ID",
}


def _destination(destination: Destination) -> dict[str, Any]:
    """A server the request was passed on to: named, with its URL (network type 5: URI)."""
    return {
        "requestor": False,
        "type": {"coding": [DESTINATION_ROLE], "text": "destination"},
        "who": {"display": f"{destination.name}: {destination.result}"[:500]},
        "network": {"address": destination.address, "type": "5"},
    }


# The organisation the user acts for, from the legal entity down to the department
# (the trust framework's attested organisation): what the citizen's access log names.
ORGANISATION_LEVELS = (
    ("legal-entity", "organisation", ORGANISATION_NUMBER_SYSTEM),
    ("point-of-care", "point_of_care", ORGANISATION_NUMBER_SYSTEM),
    ("department", "department", RESH_SYSTEM),
)


def _organisation_agents(agent: dict[str, Any]) -> list[dict[str, Any]]:
    agents: list[dict[str, Any]] = []
    for level, key, system in ORGANISATION_LEVELS:
        value, name = agent.get(key), agent.get(f"{key}_name")
        if not (value or name):
            continue
        who: dict[str, Any] = {}
        if value:
            who["identifier"] = {"system": system, "value": value}
        if name:
            who["display"] = name
        agents.append({"requestor": False, "type": {"text": level}, "who": who})
    return agents


def _entities(record: AuditRecord) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    for rtype, rid, version in record.entities:
        reference = f"{rtype}/{rid}" + (f"/_history/{version}" if version else "")
        entity: dict[str, Any] = {
            "what": {"reference": reference},
            "role": _role("4", "Domain Resource"),
        }
        if record.change_reason:
            entity["detail"] = [{"type": REASON_DETAIL, "valueString": record.change_reason}]
        entities.append(entity)
    for patient_id in sorted(record.patients):
        entities.append(
            {"what": {"reference": f"Patient/{patient_id}"}, "role": _role("1", "Patient")}
        )
    if record.query is not None:
        entities.append({"role": _role("24", "Query"), "description": record.query[:1000]})
    return entities


def _role(code: str, display: str) -> dict[str, str]:
    return {
        "system": "http://terminology.hl7.org/CodeSystem/object-role",
        "code": code,
        "display": display,
    }


def _extensions(record: AuditRecord) -> list[dict[str, Any]]:
    extensions: list[dict[str, Any]] = []
    service = record.agent.get("healthcare_service")
    if service:
        coding = {"system": HEALTHCARE_SERVICE_SYSTEM, "code": service}
        concept = lookup(HEALTHCARE_SERVICE_SYSTEM, service)
        if concept is not None and concept.display:
            coding["display"] = concept.display
        extensions.append({"url": HEALTHCARE_SERVICE_EXTENSION, "valueCoding": coding})
    if record.emergency:
        extensions.append({"url": EMERGENCY_EXTENSION, "valueBoolean": True})
        if record.emergency_reason:
            extensions.append(
                {"url": EMERGENCY_REASON_EXTENSION, "valueString": record.emergency_reason}
            )
    if record.decision_reason:
        extensions.append({"url": DECISION_EXTENSION, "valueString": record.decision_reason})
    return extensions
