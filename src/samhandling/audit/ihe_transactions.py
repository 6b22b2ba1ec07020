"""The IHE MHD shapes of the audit events of document sharing (ITI-65, -66, -67, -68).

IHE MHD 4.2 builds its audit events on BALP (`shared/data/national-profiles/ihe-mhd/
audit-6*.fsh`): the platform's BALP record (`events.py`) gets, for the transactions of a
Document Recipient and Responder,

* the ITI transaction code as a second `subtype` (`urn:ihe:event-type-code|ITI-67`);
* the client as DICOM 110153 "Source Role ID" and this server as 110152 "Destination
  Role ID" (the Document Consumer/Source and the Responder/Recipient);
* typed entities: the patient (type 1 Person, role 1 Patient), the query (type 2, role 24,
  the request line in `description` and base64 in `query`) for ITI-66/67, the document's
  content (type 2, role 3 Report) for ITI-68;
* ITI-65 (recorded on the write of the SubmissionSet `List`) is an Import: type DICOM
  110107, action C, the SubmissionSet an entity of role 20 "Job" with its uniqueId.

Which transaction a record is comes from the request alone (a search of DocumentReference,
a search of List by an MHD list type, a read of Binary), or for ITI-65 from the write
(`provided_submission_set`).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl

from samhandling.audit.records import AuditRecord

IHE_EVENT_TYPES = "urn:ihe:event-type-code"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
ENTITY_TYPES = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLES = "http://terminology.hl7.org/CodeSystem/object-role"
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
TRANSACTIONS = {
    "ITI-65": "Provide Document Bundle",
    "ITI-66": "Find Document Lists",
    "ITI-67": "Find Document References",
    "ITI-68": "Retrieve Document",
}
SOURCE_ROLE = {"system": DCM, "code": "110153", "display": "Source Role ID"}
DESTINATION_ROLE = {"system": DCM, "code": "110152", "display": "Destination Role ID"}
IMPORT = {"system": DCM, "code": "110107", "display": "Import"}
OBSERVER = "samhandling"  # `source.observer.display` of every event: this server


def provided_submission_set(resource_type: str, resource: dict[str, Any]) -> str | None:
    """The uniqueId of a SubmissionSet `List` being written (ITI-65), else None; a
    SubmissionSet without identifiers gives ''."""
    if resource_type != "List":
        return None
    codes = {
        (c.get("system"), c.get("code")) for c in (resource.get("code") or {}).get("coding", [])
    }
    if (MHD_LIST_TYPES, "submissionset") not in codes:
        return None
    identifiers = [i for i in resource.get("identifier") or [] if isinstance(i, dict)]
    usual = [i for i in identifiers if i.get("use") == "usual"] or identifiers
    return str(usual[0].get("value", "")) if usual else ""


def transaction_of(record: AuditRecord) -> str | None:
    """The MHD transaction `record` is, or None."""
    if record.ihe_transaction:
        return record.ihe_transaction
    parts = [p for p in (record.path or "").split("/") if p][1:]
    if not parts or record.method not in ("GET", "POST"):
        return None
    searching = (len(parts) == 1 and record.method == "GET") or parts[1:] == ["_search"]
    if parts[0] == "DocumentReference" and searching:
        return "ITI-67"
    if parts[0] == "List" and searching and _names_mhd_list_type(record.query):
        return "ITI-66"
    if parts[0] == "Binary" and len(parts) == 2 and record.method == "GET":
        return "ITI-68"
    return None


def _names_mhd_list_type(query: str | None) -> bool:
    text = (query or "").split("?", 1)[-1]
    codes = [value for name, value in parse_qsl(text) if name.split(":")[0] == "code"]
    return any(code.rsplit("|", 1)[-1] in ("submissionset", "folder") for code in codes)


def shape(event: dict[str, Any], record: AuditRecord, transaction: str) -> None:
    """Give the BALP `event` of `record` the IHE MHD shape of `transaction`."""
    event["subtype"].append(
        {"system": IHE_EVENT_TYPES, "code": transaction, "display": TRANSACTIONS[transaction]}
    )
    if transaction == "ITI-65":
        event["type"] = IMPORT
        event["action"] = "C"
    event["agent"] = _role_agents(event["agent"])
    event["entity"] = [_typed(e, record, transaction) for e in event.get("entity", [])]


def _role_agents(agents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The client system as the Source Role, this server as the Destination Role."""
    client = next((a for a in agents if (a.get("type") or {}).get("text") == "client-system"), None)
    if client is None:
        client = {"requestor": False, "who": {"display": "client"}}
        agents = [*agents, client]
    client["type"] = {"coding": [SOURCE_ROLE], "text": "client-system"}
    server = {
        "requestor": False,
        "type": {"coding": [DESTINATION_ROLE], "text": "server"},
        "who": {"display": OBSERVER},
    }
    return [*agents, server]


def _typed(entity: dict[str, Any], record: AuditRecord, transaction: str) -> dict[str, Any]:
    role = (entity.get("role") or {}).get("code")
    if role == "1":
        return {**entity, "type": _coding(ENTITY_TYPES, "1", "Person")}
    if role == "24":
        query = f"{record.query or ''}".strip()
        encoded = base64.b64encode(query.encode()).decode()
        return {**entity, "type": _coding(ENTITY_TYPES, "2", "System Object"), "query": encoded}
    typed = {**entity, "type": _coding(ENTITY_TYPES, "2", "System Object")}
    if transaction == "ITI-68":
        typed["role"] = _coding(OBJECT_ROLES, "3", "Report")
    elif transaction == "ITI-65" and entity["what"]["reference"].startswith("List/"):
        typed["role"] = _coding(OBJECT_ROLES, "20", "Job")
        if record.submission_set_id:
            identifier = {"system": "urn:ietf:rfc:3986", "value": record.submission_set_id}
            typed["what"] = {**entity["what"], "identifier": identifier}
    return typed


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}
