"""Bulk Data Access 2.0 `$export` (docs/BULK_EXPORT.md): system, Patient and Group level,
run by a background worker from a consistent snapshot into NDJSON files."""

from __future__ import annotations

from samhandling.definitions.operation_definitions import Param
from samhandling.interactions.operations import Level, Operation
from samhandling.services.bulk_export.kickoff import kick_off
from samhandling.services.bulk_export.worker import export_worker
from samhandling.services.service import Service

_DESCRIPTION = (
    "FHIR Bulk Data Access 2.0 export: needs `Prefer: respond-async`; answers 202 with the "
    "status URL in Content-Location. System clients with system read scopes only."
)
_PARAMETERS: tuple[Param, ...] = (
    ("_outputFormat", "in", 0, "1", "string"),
    ("_since", "in", 0, "1", "instant"),
    ("_type", "in", 0, "*", "string"),
    ("_elements", "in", 0, "*", "string"),
    ("_typeFilter", "in", 0, "*", "string"),
    ("_deidentify", "in", 0, "1", "string"),
    ("patient", "in", 0, "*", "Reference"),  # Patient and Group level only
)


def _operation(level: Level, resource_type: str | None) -> Operation:
    return Operation(
        "export",
        level,
        resource_type,
        kick_off,
        permission="",  # the handler checks the system scopes per exported type
        # the kick-off stores a job row: a write transaction from the start, so that on
        # SQLite it never has to upgrade a read transaction (which fails at once with
        # "database is locked" when the audit journal committed in between)
        writes=True,
        methods=("GET", "POST"),
        description=_DESCRIPTION,
        parameters=_PARAMETERS,
    )


SERVICE = Service(
    name="bulk-export",
    operations=(
        _operation("system", None),
        _operation("type", "Patient"),
        _operation("instance", "Group"),
    ),
    workers=(export_worker,),
)
