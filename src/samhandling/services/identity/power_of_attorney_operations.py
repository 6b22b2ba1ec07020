"""Giving, revoking and listing powers of attorney: `Patient/{id}/$grant-power-of-attorney`,
`$revoke-power-of-attorney` and `$powers-of-attorney` (the register: `powers_of_attorney`).

Only the person themself, on their own record, gives or revokes one: not a parent for a
child, not an attorney for the grantor (a power of attorney is not passed on), not health
personnel. The attorney is named by national ID (fødselsnummer or D-number, check digits
validated) and family name, must be a Patient here and an adult (18 or more, by the
birth date of the number); so must the grantor. The name is asked for so that the form is
no oracle of who holds a number: a wrong name and an unknown number get the same answer.

Citizens may not write RelatedPerson: the operations write the grant themselves, with the
policy's decision on the operation standing in for the write's (`DelegatedWrites`), each
write audited under the operation's name with the citizen as the agent, in the grantor's
compartment (their access log shows it). A plain write of a power of attorney is left to
systems (a register's feed): `PowersOfAttorneyKeptOnWrites`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from samhandling.auth.compartment import age_on
from samhandling.auth.principal import ActingFor, birth_date_from_nin
from samhandling.fhir.outcome import FhirError, error
from samhandling.identifiers.common import InvalidIdentifier
from samhandling.identifiers.person_numbers import PersonNumberKind, classify_person_number
from samhandling.interactions import crud, read, search
from samhandling.interactions.delegated_writes import DelegatedWrites
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.interactions.patient_identity import patient_ids_for_pids
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.identity.lookups import current_resource
from samhandling.services.identity.powers_of_attorney import (
    ROLE_CODE,
    attorney_identifier,
    grantor_id,
    grants_naming,
    is_current,
    is_power_of_attorney,
)
from samhandling.store.version_writer import VersionWriter

GRANT, REVOKE, LIST = "grant-power-of-attorney", "revoke-power-of-attorney", "powers-of-attorney"
ADULT = 18
MAX_GRANTS_LISTED = 200
NOT_FOUND = "No person with this national ID number and family name is registered here"
NOT_A_NUMBER = "Not a valid national ID number"
NOT_A_PERSON_NUMBER = "The attorney is named by fødselsnummer or D-number"
SELF = "You cannot give yourself a power of attorney"
MINOR_GRANTOR = "Only an adult (18 or older) can give a power of attorney"
MINOR_ATTORNEY = "A power of attorney can only be given to an adult (18 or older)"
ALREADY = "This person already holds a power of attorney from you"
END_DATE = "Parameter end must be a date from today on"


def grant(context: OperationContext) -> OperationResult:
    """Give the person named by `attorney` and `family` a power of attorney (until `end`)."""
    now = datetime.now(UTC)
    own = _own_record(context, GRANT)
    pid = _attorney_number(context.text("attorney"), own, now.date())
    end = _end_date(context.text("end"), now.date())
    attorney = _attorney_patient(context, pid, context.text("family"))
    given = _given(context, own.patient_id or "")
    if any(_names(g, pid) and is_current(g, own.patient_id or "", now) for g in given):
        raise FhirError(409, error("conflict", ALREADY))
    resource = _grant_resource(own.patient_id or "", pid, attorney, now, end)
    writer = VersionWriter(context.connection, DelegatedWrites(context.guard), context.writer.rules)
    written = crud.create(writer, resource, resource_type="RelatedPerson", intent=GRANT)
    reference = {"reference": f"RelatedPerson/{written.version.resource_id}"}
    answer = {
        "resourceType": "Parameters",
        "parameter": [{"name": "grant", "valueReference": reference}],
    }
    return OperationResult(answer, status=201)


def revoke(context: OperationContext) -> OperationResult:
    """Revoke the grant `grant` (a RelatedPerson id) of the caller's own record at once:
    `active` false and the period ended now; the record and its history stay."""
    now = datetime.now(UTC)
    own = _own_record(context, REVOKE)
    rid = context.text("grant")
    if rid is None:
        raise FhirError(400, error("required", "Parameter grant is required", "grant"))
    current = context.writer.current("RelatedPerson", rid)
    grant_ = None if current is None or current.deleted else current.resource()
    if not is_power_of_attorney(grant_) or grantor_id(grant_ or {}) != own.patient_id:
        raise FhirError(404, error("not-found", f"No power of attorney {rid} in your record"))
    assert grant_ is not None and current is not None
    if grant_.get("active") is not True:
        raise FhirError(409, error("conflict", "The power of attorney is already revoked"))
    period = {**(grant_.get("period") or {}), "end": _instant(now)}
    revoked = {**grant_, "active": False, "period": period}
    writer = VersionWriter(context.connection, DelegatedWrites(context.guard), context.writer.rules)
    crud.update(writer, "RelatedPerson", rid, revoked, if_match=current.version_id, intent=REVOKE)
    answer = {
        "resourceType": "Parameters",
        "parameter": [{"name": "revoked", "valueBoolean": True}],
    }
    return OperationResult(answer)


def listing(context: OperationContext) -> OperationResult:
    """The powers of attorney the caller gave (`given`) and was given (`received`), those
    not revoked, each with the person's name, its period and whether it is current now."""
    now = datetime.now(UTC)
    own = _own_record(context, LIST)
    parameters = [
        _entry("given", g, _name(g), now, own.patient_id or "")
        for g in _given(context, own.patient_id or "")
        if g.get("active") is True
    ]
    for received in grants_naming(context.connection, own.pid):
        grantor = grantor_id(received) or ""
        patient = current_resource(context.connection, "Patient", grantor) if grantor else None
        if received.get("active") is True and patient is not None:
            parameters.append(_entry("received", received, _name(patient), now, grantor))
    return OperationResult({"resourceType": "Parameters", "parameter": parameters})


def _own_record(context: OperationContext, intent: str) -> ActingFor:
    """The caller's own `ActingFor`, when the operation is on their own record; else 403."""
    principal = context.guard.principal
    own = None
    if principal is not None and principal.kind == "citizen":
        own = next((a for a in principal.acts_for if a.relation == "self"), None)
    if own is None or own.patient_id is None or own.patient_id != context.resource_id:
        message = f"Only the person themself can ${intent}, on their own record"
        raise FhirError(403, error("forbidden", message))
    read.read(context.connection, "Patient", own.patient_id, context.guard)  # audited as read
    return own


def _attorney_number(value: str | None, own: ActingFor, today: date) -> str:
    """The attorney's national ID, validated: a fødselsnummer or D-number of an adult who
    is not the grantor, given by an adult."""
    if value is None:
        raise FhirError(400, error("required", "Parameter attorney is required", "attorney"))
    pid = value.replace(" ", "")
    try:
        kind = classify_person_number(pid, today=today).kind
    except InvalidIdentifier as exc:
        raise FhirError(400, error("invalid", NOT_A_NUMBER, "attorney")) from exc
    if kind not in (PersonNumberKind.FNR, PersonNumberKind.DNR):
        raise FhirError(400, error("invalid", NOT_A_PERSON_NUMBER, "attorney"))
    if pid == own.pid:
        raise FhirError(422, error("business-rule", SELF, "attorney"))
    if not _adult(own.birth_date, today):
        raise FhirError(422, error("business-rule", MINOR_GRANTOR))
    if not _adult(birth_date_from_nin(pid), today):
        raise FhirError(422, error("business-rule", MINOR_ATTORNEY, "attorney"))
    return pid


def _adult(born: date | None, today: date) -> bool:
    return born is not None and age_on(born, today) >= ADULT


def _end_date(value: str | None, today: date) -> str | None:
    if value is None:
        return None
    try:
        end = date.fromisoformat(value)
    except ValueError as exc:
        raise FhirError(400, error("invalid", END_DATE, "end")) from exc
    if len(value) != 10 or end < today:
        raise FhirError(400, error("invalid", END_DATE, "end"))
    return end.isoformat()


def _attorney_patient(context: OperationContext, pid: str, family: str | None) -> dict[str, Any]:
    """The attorney's Patient, when its family name is the one given (else 422)."""
    if family is None:
        raise FhirError(400, error("required", "Parameter family is required", "family"))
    patient_id = patient_ids_for_pids(context.connection, [pid]).get(pid)
    patient = current_resource(context.connection, "Patient", patient_id) if patient_id else None
    families = {_folded(str(n.get("family") or "")) for n in (patient or {}).get("name") or []}
    if patient is None or _folded(family) not in families:
        raise FhirError(422, error("business-rule", NOT_FOUND, "attorney"))
    return patient


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def _given(context: OperationContext, patient_id: str) -> list[dict[str, Any]]:
    """The powers of attorney recorded in the Patient's record (not only current ones)."""
    items = [("patient", f"Patient/{patient_id}"), ("_count", str(MAX_GRANTS_LISTED))]
    bundle = search.search(context.connection, "RelatedPerson", items, context.base_url)
    found = [entry.get("resource") or {} for entry in bundle.get("entry") or []]
    return [g for g in found if is_power_of_attorney(g) and grantor_id(g) == patient_id]


def _names(grant_: dict[str, Any], pid: str) -> bool:
    return any(i.get("value") == pid for i in grant_.get("identifier") or [])


def _grant_resource(
    grantor: str, pid: str, attorney: dict[str, Any], now: datetime, end: str | None
) -> dict[str, Any]:
    period = {"start": _instant(now), **({"end": end} if end else {})}
    name = (attorney.get("name") or [{}])[0]
    return {
        "resourceType": "RelatedPerson",
        "identifier": [attorney_identifier(pid)],
        "active": True,
        "patient": {"reference": f"Patient/{grantor}"},
        "relationship": [
            {"coding": [{"system": ROLE_CODE, "code": "POWATT", "display": "power of attorney"}]}
        ],
        "name": [{k: v for k, v in name.items() if k in ("family", "given")}],
        "period": period,
    }


def _instant(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name(person: dict[str, Any]) -> str:
    name = (person.get("name") or [{}])[0]
    return " ".join([*name.get("given", []), name.get("family", "")]).strip() or "?"


def _entry(
    kind: str, grant_: dict[str, Any], name: str, now: datetime, grantor: str
) -> dict[str, Any]:
    period = grant_.get("period") or {}
    parts: list[dict[str, Any]] = [
        {"name": "grant", "valueReference": {"reference": f"RelatedPerson/{grant_['id']}"}},
        {"name": "name", "valueString": name},
        {"name": "current", "valueBoolean": is_current(grant_, grantor, now)},
    ]
    if kind == "received":
        parts.append({"name": "grantor", "valueReference": {"reference": f"Patient/{grantor}"}})
    parts += [{"name": k, "valueString": str(period[k])} for k in ("start", "end") if k in period]
    return {"name": kind, "part": parts}


class PowersOfAttorneyKeptOnWrites:
    """Write rule: a power of attorney is the grantor's to give and revoke (the operations)
    or a register's system to write; health personnel and citizens cannot write one."""

    resource_types = frozenset({"RelatedPerson"})  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        return (
            context.resource_type == "RelatedPerson"
            and context.intent not in (GRANT, REVOKE)
            and (is_power_of_attorney(context.before) or is_power_of_attorney(context.new))
        )

    def check(self, context: WriteContext) -> None:
        principal = context.writer.guard.principal
        if principal is None or principal.kind == "system":
            return
        message = (
            "A power of attorney is given and revoked by the grantor "
            "($grant-power-of-attorney, $revoke-power-of-attorney) or by a register's system"
        )
        raise FhirError(403, error("forbidden", message, "RelatedPerson.relationship"))


OPERATIONS = [
    Operation(
        GRANT,
        "instance",
        "Patient",
        grant,
        permission="r",
        writes=True,
        description="The patient gives an adult a power of attorney (a RelatedPerson POWATT).",
        parameters=(
            ("attorney", "in", 1, "1", "string"),
            ("family", "in", 1, "1", "string"),
            ("end", "in", 0, "1", "date"),
            ("grant", "out", 1, "1", "Reference"),
        ),
    ),
    Operation(
        REVOKE,
        "instance",
        "Patient",
        revoke,
        permission="r",
        writes=True,
        description="The patient revokes a power of attorney they gave, at once.",
        parameters=(("grant", "in", 1, "1", "string"), ("revoked", "out", 1, "1", "boolean")),
    ),
    Operation(
        LIST,
        "instance",
        "Patient",
        listing,
        permission="r",
        methods=("GET",),
        description="The powers of attorney the patient gave and was given.",
        parameters=(
            ("given", "out", 0, "*", "BackboneElement"),
            ("received", "out", 0, "*", "BackboneElement"),
        ),
    ),
]
