"""`Patient/{id}/$summary`, `Patient/$summary?identifier=…`, `…/$summary-store`,
`Patient/{id}/$receive-summary`, `Patient/{id}/$everything` and `$summary-signing-keys`
(system level).

`$summary` reads the patient through the caller's guard (404/403 as for a read), gathers
the sections (`gather`), builds the document (`document`) and signs it (`signing`);
`$summary-store` (a writing operation, POST) also stores it as a DocumentReference through
`interactions.crud` (`archive`): a separate name because `$summary` itself never writes
(a read transaction, cacheable). The audit middleware records the call as one access
naming the patient and what was shown.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from samhandling.definitions.operation_definitions import Param
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.guarded_search import guarded_search
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.interactions.read import read
from samhandling.services.critical_information.summary import patient_of
from samhandling.services.patient_summary import archive, received, rendering, signing
from samhandling.services.patient_summary.document import PLATFORM_ID, document, urn
from samhandling.services.patient_summary.gather import gather
from samhandling.services.patient_summary.narrative import LANGUAGES

EVERYTHING_PAGING = ("_count", "_after", "_before", "_cursor", "_offset", "_type")


def now() -> datetime:
    """The time the summary is made at (tests replace this function)."""
    return datetime.now(UTC)


def summary(context: OperationContext) -> OperationResult:
    """The patient's signed IPS document Bundle, or that Bundle rendered as HTML or PDF
    (`Accept: text/html` / `application/pdf`, or `_format=html` / `pdf`)."""
    media_type = rendering.requested_format(context.text("_format"), context.headers.get("accept"))
    bundle = _signed(context)[0]
    if media_type == rendering.JSON:
        return OperationResult(bundle)
    language = context.text("language") or "nb"
    if media_type == rendering.HTML:
        page = rendering.render_html(bundle, language).encode()
        return OperationResult({}, content=page, media_type=f"{media_type}; charset=utf-8")
    name = "pasientsammendrag" if language == "nb" else "patient-summary"
    disposition = {"Content-Disposition": f'inline; filename="{name}.pdf"'}
    pdf = rendering.render_pdf(bundle, language)
    return OperationResult({}, headers=disposition, content=pdf, media_type=media_type)


def summary_store(context: OperationContext) -> OperationResult:
    """The signed summary, stored as a DocumentReference (what was sent, provable later)."""
    bundle, patient_id, at = _signed(context)
    reference = archive.store(context, bundle, patient_id, at)
    return OperationResult(bundle, 201, {"Content-Location": f"{context.base_url}/{reference}"})


def _signed(context: OperationContext) -> tuple[dict[str, Any], str, datetime]:
    language = context.text("language") or "nb"
    if language not in LANGUAGES:
        message = f"language {language!r} is not supported (nb or en)"
        raise FhirError(400, error("not-supported", message, "language"))
    patient_id = patient_of(context)
    patient = read(context.connection, "Patient", patient_id, context.guard).resource()
    at = now()
    bundle = document(context, patient, gather(context, patient_id, at), at, language)
    who = urn(context.base_url, f"Organization/{PLATFORM_ID}")
    signing.sign(bundle, who, at, context.data_dir)
    return bundle, patient_id, at


def receive_summary(context: OperationContext) -> OperationResult:
    """A summary from abroad, checked against IPS and stored for the patient (`received`)."""
    return received.receive(context, now())


def everything(context: OperationContext) -> OperationResult:
    """The patient's compartment, paged (`_count` and the `next` link)."""
    patient_id = str(context.resource_id)
    items = [
        (name, str(value))
        for name in EVERYTHING_PAGING
        for value in context.parameters.get(name, [])
    ]
    found = guarded_search(
        context.connection, None, items, context.base_url, context.guard,
        compartment=("Patient", patient_id),
    )  # fmt: skip
    here = f"{context.base_url}/Patient/{patient_id}/$everything"
    for link in found.get("link", []):
        query = urlsplit(link["url"]).query
        link["url"] = f"{here}?{query}" if query else here
    return OperationResult(found)


def signing_keys(context: OperationContext) -> OperationResult:
    """The public keys summaries are signed with (a JWKS, as a string parameter)."""
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "jwks", "valueString": json.dumps(signing.jwks(context.data_dir))}],
    }
    return OperationResult(body)


_SUMMARY_PARAMETERS: tuple[Param, ...] = (
    ("identifier", "in", 0, "1", "string"),
    ("language", "in", 0, "1", "code"),
    ("return", "out", 1, "1", "Bundle"),
)
_SUMMARY_DESCRIPTION = (
    "The patient's International Patient Summary (IPS 1.1.0) as a signed document Bundle, "
    "generated from the platform's services (language nb or en); with Accept text/html or "
    "application/pdf (or _format html / pdf) that Bundle rendered as HTML or PDF."
)
OPERATIONS = [
    *(
        Operation(
            "summary", level, "Patient", summary, permission="r", methods=("GET", "POST"),
            description=_SUMMARY_DESCRIPTION, parameters=_SUMMARY_PARAMETERS,
        )
        for level in ("instance", "type")
    ),
    *(
        Operation(
            "summary-store", level, "Patient", summary_store, permission="r", writes=True,
            description="The signed summary, also stored as a DocumentReference "
            "(Content-Location names it); the caller must be allowed to create those.",
            parameters=_SUMMARY_PARAMETERS,
        )
        for level in ("instance", "type")
    ),
    Operation(
        "receive-summary", "instance", "Patient", receive_summary, permission="r",
        writes=True, resource_body=True,
        description="Store an IPS document Bundle received from another country for the "
        "patient, after checking it against the IPS profiles (422 with one issue per "
        "problem): a DocumentReference of type LOINC 60591-5 with the Bundle attached and "
        "its source country; the caller must be allowed to create DocumentReferences.",
        parameters=(
            ("resource", "in", 1, "1", "Bundle"), ("country", "in", 0, "1", "code"),
            ("return", "out", 1, "1", "DocumentReference"),
        ),
    ),
    Operation(
        "everything", "instance", "Patient", everything, permission="s",
        methods=("GET", "POST"),
        description="The patient's compartment, paged with _count and next links.",
        parameters=(("_count", "in", 0, "1", "integer"), ("return", "out", 1, "1", "Bundle")),
    ),
    Operation(
        "summary-signing-keys", "system", None, signing_keys, permission="",
        methods=("GET",),
        description="The public keys (JWKS) patient summaries are signed with.",
        parameters=(("jwks", "out", 1, "1", "string"),),
    ),
]  # fmt: skip
