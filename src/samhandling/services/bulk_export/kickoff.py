"""The `$export` kick-off (Bulk Data Access 2.0): check the caller and the request, record
the snapshot and the job, answer 202 with the status URL in `Content-Location`.

Only `system` callers; each exported type needs a system read scope on it (`system/*.rs`,
`system/Observation.rs`, v1 `system/*.read`). A `_type` naming a type the token does not
grant is refused (403); without `_type` the export holds exactly the granted types.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from samhandling.auth.principal import Principal
from samhandling.auth.scopes import grant
from samhandling.fhir.fhir_dates import parse_date_range
from samhandling.fhir.instants import datetime_to_us, now_us
from samhandling.fhir.outcome import FhirError, Issue, error, operation_outcome
from samhandling.fhir.validation import is_resource_type
from samhandling.interactions.operations import OperationContext, OperationResult
from samhandling.interactions.type_filter import PARAMETER, parse_type_filters
from samhandling.services.bulk_export.kickoff_parameters import (
    ASSOCIATED_DATA,
    associated_data,
    refuse_patients,
    requested_patients,
    unsupported,
)
from samhandling.services.bulk_export.research import PROJECT_NAME, ResearchProjects
from samhandling.services.bulk_export.shaping import withheld_from_systems
from samhandling.store.export_queries import (
    ACCEPTED,
    ExportJob,
    insert_job,
    snapshot_position,
    snapshot_types,
)
from samhandling.store.reader import read_current

NDJSON_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
#: how long a job and its files are kept after the kick-off
JOB_LIFETIME = timedelta(hours=24)
#: the kick-off parameter of a de-identified research export (our extension)
DEIDENTIFY = "_deidentify"
_TYPE_NAME = re.compile(r"^[A-Z][A-Za-z]{1,63}$")


def status_url(base_url: str, job_id: str) -> str:
    """Where the client polls a job."""
    return f"{base_url}/_export/{job_id}"


def kick_off(context: OperationContext) -> OperationResult:
    """The `$export` handler at every level (system, Patient, Group/{id})."""
    principal = _system_caller(context)
    _check_async(context)
    _check_format(context)
    associated, skipped = associated_data(context.parameters, context.headers)
    ignored = [*unsupported(context.parameters, context.headers), *skipped]
    parameters = _job_parameters(context, principal, associated)
    parameters["ignored"] = [issue.to_fhir() for issue in ignored]
    snapshot_tx, committed_us = snapshot_position(context.connection)
    created = now_us()
    job = ExportJob(
        job_id=str(uuid.uuid4()),
        client_id=client_of(principal),
        status=ACCEPTED,
        request=_request_url(context),
        parameters=parameters,
        snapshot_tx=snapshot_tx,
        transaction_time_us=committed_us or created,
        created_us=created,
        expires_us=created + int(JOB_LIFETIME.total_seconds() * 1_000_000),
        lease_until_us=None,
        progress="accepted",
        output=[],
        error=None,
    )
    insert_job(context.connection, job)
    accepted = Issue("information", "informational", "export accepted")
    outcome = operation_outcome([accepted, *ignored])
    location = status_url(context.base_url, job.job_id)
    return OperationResult(outcome, 202, {"Content-Location": location})


def _job_parameters(
    context: OperationContext, principal: Principal, associated: str | None
) -> dict[str, Any]:
    """What the worker needs of the request, checked (400/403/404 otherwise)."""
    project = research_project(context, client_of(principal))
    if associated is not None and not reads(principal, "Provenance"):
        message = f"{ASSOCIATED_DATA}: no system read scope grants Provenance"
        raise FhirError(403, error("forbidden", message, ASSOCIATED_DATA))
    patients, all_patients = _patients(context)
    granted = _granted_types(principal, context, all_patients or patients is not None)
    filters = parse_type_filters(
        [str(v) for v in context.parameters.get(PARAMETER) or ()],
        granted,
        deidentified=project is not None,
    )
    return {
        "types": granted,
        "since_us": _since(context),
        "patients": list(patients) if patients is not None else None,
        "all_patients": all_patients,
        "elements": _list(context, "_elements"),
        "type_filters": filters,
        "deidentify": project,
        "associated": associated,
        "base_url": context.base_url,
        "group": context.resource_id if context.resource_type == "Group" else None,
        "agent": principal.audit_agent(),
    }


def client_of(principal: Principal) -> str:
    """Who owns a job: the calling system's client id (its subject when it has none)."""
    return principal.client.client_id or principal.subject or principal.issuer


def _system_caller(context: OperationContext) -> Principal:
    principal = context.guard.principal
    if principal is None or principal.kind != "system":
        raise FhirError(403, error("forbidden", "Bulk export is for system clients only"))
    return principal


def research_project(context: OperationContext, client_id: str) -> str | None:
    """The project of a de-identified export (`_deidentify`), or None for an identified
    one. 403 when the client may not export for that project, or when it is a research
    client asking an identified export (research clients get de-identified data only)."""
    project = context.text(DEIDENTIFY)
    projects = ResearchProjects(context.data_dir) if context.data_dir is not None else None
    if project is None:
        if projects is not None and projects.is_research_client(client_id):
            message = f"this client gets de-identified exports only ({DEIDENTIFY}=<project>)"
            raise FhirError(403, error("forbidden", message, DEIDENTIFY))
        return None
    if not PROJECT_NAME.match(project):
        raise FhirError(400, error("invalid", f"{DEIDENTIFY}: not a project name", DEIDENTIFY))
    if projects is None or not projects.allows(project, client_id):
        message = f"no research project {project} for this client"
        raise FhirError(403, error("forbidden", message, DEIDENTIFY))
    projects.pseudonyms(project)  # the project's key exists before any worker needs it
    return project


def _check_async(context: OperationContext) -> None:
    prefer = context.headers.get("prefer", "")
    if "respond-async" not in [p.strip() for p in prefer.split(",")]:
        raise FhirError(400, error("invalid", "Bulk export needs the header Prefer: respond-async"))


def _check_format(context: OperationContext) -> None:
    wanted = context.text("_outputFormat")
    if wanted is not None and wanted not in NDJSON_FORMATS:
        message = f"_outputFormat {wanted} is not supported (application/fhir+ndjson only)"
        raise FhirError(400, error("not-supported", message, "_outputFormat"))


def _list(context: OperationContext, name: str) -> list[str] | None:
    values = context.parameters.get(name)
    if not values:
        return None
    items = [i.strip() for v in values for i in str(v).split(",") if i.strip()]
    return list(dict.fromkeys(items)) or None


def _since(context: OperationContext) -> int | None:
    text = context.text("_since")
    if text is None:
        return None
    try:
        return datetime_to_us(parse_date_range(text)[0])
    except ValueError as exc:
        raise FhirError(400, error("invalid", f"_since: {exc}", "_since")) from exc


def _granted_types(principal: Principal, context: OperationContext, patients: bool) -> list[str]:
    asked = _list(context, "_type")
    for name in asked or ():
        if not (_TYPE_NAME.match(name) and is_resource_type(name)):
            raise FhirError(400, error("invalid", f"_type: {name} is not a resource type", "_type"))
    if asked is None:
        stored = snapshot_types(
            context.connection, snapshot_position(context.connection)[0], patients
        )
        return [t for t in stored if reads(principal, t)]
    refused = [t for t in asked if not reads(principal, t)]
    if refused:
        message = f"no system read scope grants {', '.join(refused)}"
        raise FhirError(403, error("forbidden", message, "_type"))
    return asked


def reads(principal: Principal, resource_type: str) -> bool:
    """Whether the system scopes grant reading and searching the whole type."""
    found = grant(principal.scopes, ("system",), resource_type, "rs")
    return found.ok and not found.filters


def _patients(context: OperationContext) -> tuple[tuple[str, ...] | None, bool]:
    """(the patients whose compartments are exported, None: no list; whether the export
    is of patient compartments): the `patient` parameter's, a Group's members (those of
    them the `patient` parameter names), or every patient."""
    asked = requested_patients(context.parameters, context.resource_type)
    if context.resource_type == "Patient":
        if asked is None:
            return None, True
        _check_exportable(context, asked)
        return tuple(asked), True
    if context.resource_type != "Group" or context.resource_id is None:
        return None, False
    stored = read_current(context.connection, "Group", context.resource_id)
    if stored is None or stored.deleted or stored.content is None:
        raise FhirError(404, error("not-found", f"Group/{context.resource_id} is not known"))
    found = members(stored.resource())
    if asked is None:
        return tuple(found), True
    outside = [p for p in asked if p not in found]
    if outside:
        raise refuse_patients(outside, f"not a member of Group/{context.resource_id}")
    _check_exportable(context, asked)
    return tuple(asked), True


def _check_exportable(context: OperationContext, patient_ids: list[str]) -> None:
    """400 naming the requested patients that are unknown, deleted or withheld from
    systems (one answer for all three, so a withheld patient is not told apart)."""
    refused = []
    for patient_id in patient_ids:
        stored = read_current(context.connection, "Patient", patient_id)
        present = stored is not None and not stored.deleted and stored.content is not None
        resource = stored.resource() if stored is not None and present else None
        if resource is None or withheld_from_systems(resource):
            refused.append(patient_id)
    if refused:
        raise refuse_patients(refused, "not known or not exportable by this client")


def members(group: dict[str, Any]) -> list[str]:
    """The Patient ids a Group's `member.entity` references name, in order."""
    found = []
    for member in group.get("member") or []:
        reference = ((member or {}).get("entity") or {}).get("reference") or ""
        kind, _, patient_id = reference.rpartition("/")
        if kind.endswith("Patient") and patient_id:
            found.append(patient_id)
    return list(dict.fromkeys(found))


def _request_url(context: OperationContext) -> str:
    path = "/".join(p for p in (context.resource_type, context.resource_id) if p)
    query = [(k, str(v)) for k, values in context.parameters.items() for v in values]
    if context.body is not None:
        query = []  # Bulk Data 2.0: a POST kick-off's request URL is without its parameters
    where = f"{context.base_url}/{path}/$export" if path else f"{context.base_url}/$export"
    return f"{where}?{urlencode(query)}" if query else where
