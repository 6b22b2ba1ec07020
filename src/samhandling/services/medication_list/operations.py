"""The medication list's operations, with their permissions and parameters."""

from __future__ import annotations

from samhandling.definitions.operation_definitions import Param
from samhandling.interactions.operations import Operation
from samhandling.services.medication_list import (
    change_log,
    document,
    pause,
    unreconciled,
    update,
)

_READ: tuple[Param, ...] = (
    ("identifier", "in", 0, "1", "string"),
    ("return", "out", 1, "1", "Bundle"),
)
_UPDATE: tuple[Param, ...] = (
    ("basedOn", "in", 0, "1", "integer"),
    ("list", "in", 0, "1", "List"),
    ("entry", "in", 0, "*", "MedicationStatement"),
    ("return", "out", 1, "1", "List"),
)
_PAUSE: tuple[Param, ...] = (
    ("reason", "in", 1, "1", "string"),
    ("expectedEnd", "in", 0, "1", "dateTime"),
    ("return", "out", 1, "1", "List"),
)
_LIST_OUT: tuple[Param, ...] = (("return", "out", 1, "1", "List"),)
_CHANGES: tuple[Param, ...] = (
    ("identifier", "in", 0, "1", "string"),
    ("language", "in", 0, "1", "code"),
    ("change", "out", 0, "*", "BackboneElement"),
)

OPERATIONS = [
    *(
        Operation(
            "medication-list",
            level,
            "Patient",
            document.medication_list,
            permission="r",
            methods=("GET", "POST"),
            description="The patient's medication list (PLL) as a document Bundle, with the "
            "prescriptions not on it and the drug reactions from critical information.",
            parameters=_READ,
        )
        for level in ("instance", "type")
    ),
    Operation(
        "medication-list-update",
        "instance",
        "Patient",
        update.update,
        permission="u",
        writes=True,
        description="Save the prescriber's whole new medication list: accepted only when based "
        "on the current version and accounting for every entry of it.",
        parameters=_UPDATE,
    ),
    Operation(
        "medication-list-pause",
        "instance",
        "Patient",
        pause.pause,
        permission="u",
        writes=True,
        description="Pause the medication list (e.g. during a hospital stay): other "
        "organisations' changes are refused until it is resumed.",
        parameters=_PAUSE,
    ),
    Operation(
        "medication-list-resume",
        "instance",
        "Patient",
        pause.resume,
        permission="u",
        writes=True,
        description="Lift the pause of the medication list (the pausing organisation).",
        parameters=_LIST_OUT,
    ),
    Operation(
        "reconcile",
        "instance",
        "Patient",
        pause.reconcile,
        permission="u",
        writes=True,
        description="Record that the medication list was reconciled (samstemming): by whom, when.",
        parameters=_LIST_OUT,
    ),
    *(
        Operation(
            "medication-list-changes",
            level,
            "Patient",
            change_log.medication_list_changes,
            permission="r",
            methods=("GET",),
            description="The medication list's change log in plain words (who changed which "
            "medicine, when and why), newest first, in Norwegian or English.",
            parameters=_CHANGES,
        )
        for level in ("instance", "type")
    ),
    Operation(
        "unreconciled",
        "type",
        "Patient",
        unreconciled.unreconciled,
        permission="s",
        methods=("GET",),
        description="An organisation's patients whose medication list was not reconciled "
        "within N days or since their latest admission there.",
        parameters=(
            ("organization", "in", 1, "1", "string"),
            ("days", "in", 0, "1", "integer"),
            ("patient", "out", 0, "*", "BackboneElement"),
        ),
    ),
]
