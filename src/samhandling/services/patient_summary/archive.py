"""Keeping what was sent: a signed summary stored as a DocumentReference.

The DocumentReference carries the whole signed Bundle as its attachment (`data`, with the
SHA-1 `hash` and `size` FHIR defines), the Bundle's identifier as `masterIdentifier`, the
IPS document type and the patient; it is written through `interactions.crud`, so the
policy (the caller must be allowed to create DocumentReferences), the write rules and the
audit apply. `samhandling summary verify` checks the attached Bundle once decoded.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from samhandling.interactions import crud
from samhandling.interactions.operations import OperationContext

FHIR_JSON = "application/fhir+json"


def document_reference(bundle: dict[str, Any], patient_id: str, at: datetime) -> dict[str, Any]:
    """The DocumentReference holding `bundle` (signed) as its attachment."""
    composition = bundle["entry"][0]["resource"]
    return {
        "resourceType": "DocumentReference",
        "masterIdentifier": bundle["identifier"],
        "status": "current",
        "docStatus": "final",
        "type": composition["type"],
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": at.isoformat(timespec="seconds"),
        "description": composition["title"],
        "content": [content(bundle, at.isoformat(timespec="seconds"))],
    }


def content(bundle: dict[str, Any], creation: str | None) -> dict[str, Any]:
    """`DocumentReference.content` holding the whole Bundle: the attachment (data, size and
    SHA-1 hash as FHIR defines them, the Composition's language and title) and the IPS
    format code."""
    data = json.dumps(bundle, ensure_ascii=False).encode()
    composition = bundle["entry"][0]["resource"]
    attachment = {
        "contentType": FHIR_JSON,
        "language": composition.get("language"),
        "data": base64.b64encode(data).decode(),
        "size": len(data),
        "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),
        "title": composition.get("title"),
        "creation": creation,
    }
    return {
        "attachment": {key: value for key, value in attachment.items() if value is not None},
        "format": {
            "system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
            "code": "urn:hl7-org:sdwg:ips:1.1",
        },
    }


def store(context: OperationContext, bundle: dict[str, Any], patient_id: str, at: datetime) -> str:
    """Store the signed `bundle`; the new DocumentReference's `Type/id`."""
    written = crud.create(
        context.writer,
        document_reference(bundle, patient_id, at),
        resource_type="DocumentReference",
    )
    return f"DocumentReference/{written.version.resource_id}"


def stored_bundle(document_reference: dict[str, Any]) -> dict[str, Any]:
    """The Bundle a stored DocumentReference holds (for verification)."""
    data = document_reference["content"][0]["attachment"]["data"]
    found = json.loads(base64.b64decode(data))
    if not isinstance(found, dict):
        raise ValueError("the attachment holds no JSON object")
    return found
