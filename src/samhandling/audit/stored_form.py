"""The stored form of an audit record: its facts, compact; the AuditEvent made when read.

An `audit_event` row's `content` holds what was recorded (who, what, when, why, the
outcome: the `AuditRecord`'s fields that are set) as JSON, tagged with a format number. The
FHIR AuditEvent is built from it when the trail is read (`event_of`), by the same
`events.audit_event` that built the stored JSON before: the answers are the same, and a
record costs about a third of the bytes (≈ 700 instead of ≈ 2,000 for a clinician's
read) and, on the request's path, neither the AuditEvent's dict nor its serialisation.
The hash chain covers these bytes as it covered the AuditEvent's (`chain.canonical_row`).

Rows written before this form (their content is the AuditEvent itself, `resourceType`
first) are read as they are: both forms live in one trail and one chain. A record of a
format this version does not know — a newer number, or a field it does not have — is an
error, not a guess: a field added to `AuditRecord` is a new `FORMAT`, and the versions
that write it must not run beside older ones that read the trail.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from samhandling.audit.events import audit_event
from samhandling.audit.records import AuditRecord, Destination

FORMAT = 1
FORMAT_KEY = "samhandling-audit-record"
_REQUIRED = ("interaction", "http_status", "recorded_at_us", "agent", "patients")


def _default(f: dataclasses.Field[Any]) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


# (field, default) of the record's other fields, in the dataclass's order: each stored
# only when it differs from its default.
_OPTIONAL = tuple(
    (f.name, _default(f)) for f in dataclasses.fields(AuditRecord) if f.name not in _REQUIRED
)
_FIELDS = frozenset(f.name for f in dataclasses.fields(AuditRecord))


def stored_content(record: AuditRecord) -> bytes:
    """The `content` of `record`'s row: its set fields, the agent without empty values,
    the patients sorted (orjson writes the entities' tuples and the destinations'
    dataclasses as arrays and objects)."""
    form: dict[str, Any] = {
        FORMAT_KEY: FORMAT,
        "interaction": record.interaction,
        "http_status": record.http_status,
        "recorded_at_us": record.recorded_at_us,
        "agent": {k: v for k, v in record.agent.items() if v is not None},
    }
    if record.patients:
        form["patients"] = sorted(record.patients)
    for name, default in _OPTIONAL:
        value = getattr(record, name)
        if value != default:
            form[name] = value
    return orjson.dumps(form)


def record_of(content: bytes) -> AuditRecord | None:
    """The record stored as `content`, or None for a row that holds an AuditEvent."""
    form = orjson.loads(content)
    return None if FORMAT_KEY not in form else _record(form)


def event_of(content: bytes) -> dict[str, Any]:
    """The AuditEvent (without id) of a row's `content`, whichever form it is stored in."""
    form: dict[str, Any] = orjson.loads(content)
    return form if FORMAT_KEY not in form else audit_event(_record(form))


def _record(form: dict[str, Any]) -> AuditRecord:
    if form.pop(FORMAT_KEY) != FORMAT or not form.keys() <= _FIELDS:
        raise ValueError("an audit record of a format this version cannot read")
    form["patients"] = set(form.get("patients", ()))
    if "entities" in form:
        form["entities"] = [(t, i, v) for t, i, v in form["entities"]]
    if "destinations" in form:
        form["destinations"] = [Destination(**d) for d in form["destinations"]]
    return AuditRecord(**form)
