"""Reading a Principal out of verified token claims (HelseID and ID-porten shapes).

Claim names used:

- HelseID: `helseid://claims/identity/pid`, `…/identity/security_level`,
  `…/identity/network`, `helseid://claims/hpr/hpr_number`, `…/client/client_name`,
  `…/client/client_tenancy`, `…/client/claims/orgnr_parent|orgnr_child|orgnr_supplier`,
  `client_id`, `name`, `scope`, and the attestation `nhn:tillitsrammeverk:parameters`
  (an object, a list of authorization_details, or a JSON string of either).
- ID-porten: `pid`, `acr` (`idporten-loa-high` = 4, `idporten-loa-substantial` = 3).
- Representation (ours): `samhandling://claims/acts_for`, a list of
  `{"pid", "relation": parent|power-of-attorney|guardian, "birth_date"?}`; the citizen
  always also acts for themselves. The birth date (and so a child's age, which decides a
  parent's access) is always the one encoded in the national ID; a claimed `birth_date`
  that contradicts it refuses the token, and one for a number without a birth date (felles
  hjelpenummer) is ignored, so the age stays unknown.
- SMART launch context: `patient` (a Patient id).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from typing import Any

from samhandling.auth.principal import (
    RELATIONS,
    ActingFor,
    Attestation,
    ClientInfo,
    Organisation,
    PatientRef,
    Principal,
    PrincipalKind,
    birth_date_from_nin,
)
from samhandling.auth.scopes import parse_scopes
from samhandling.auth.settings import TrustedIssuer

log = logging.getLogger(__name__)

HELSEID = "helseid://claims/"
PID = HELSEID + "identity/pid"
SECURITY_LEVEL = HELSEID + "identity/security_level"
NETWORK = HELSEID + "identity/network"
HPR_NUMBER = HELSEID + "hpr/hpr_number"
CLIENT_NAME = HELSEID + "client/client_name"
CLIENT_TENANCY = HELSEID + "client/client_tenancy"
ORGNR_PARENT = HELSEID + "client/claims/orgnr_parent"
ORGNR_CHILD = HELSEID + "client/claims/orgnr_child"
ORGNR_SUPPLIER = HELSEID + "client/claims/orgnr_supplier"
TRUST_FRAMEWORK = "nhn:tillitsrammeverk:parameters"
ACTS_FOR = "samhandling://claims/acts_for"
_ACR_LEVELS = {"idporten-loa-high": 4, "idporten-loa-substantial": 3, "level4": 4, "level3": 3}


class ClaimsInvalid(ValueError):
    """The token's claims cannot describe a caller; the message is safe to show."""


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def principal_from_claims(
    claims: dict[str, Any], issuer: TrustedIssuer, *, dpop_jkt: str | None = None
) -> Principal:
    """The Principal described by verified `claims` from `issuer`."""
    kind = _kind(claims, issuer)
    helseid = issuer.kind == "helseid"
    pid = _str(claims.get(PID if helseid else "pid"))
    if kind != "system" and (
        pid is None or not (pid.isascii() and pid.isdigit()) or len(pid) != 11
    ):
        raise ClaimsInvalid("token has no valid person identifier")
    attestation = attestation_from_claims(claims) if helseid else None
    client = _client(claims)
    return Principal(
        kind=kind,
        issuer=issuer.issuer,
        subject=_str(claims.get("sub")),
        pid=pid,
        hpr_number=_str(claims.get(HPR_NUMBER)) if helseid else None,
        name=_str(claims.get("name")),
        security_level=_security_level(claims, helseid),
        network=_str(claims.get(NETWORK)) if helseid else None,
        organisation=_organisation(attestation, client),
        attestation=attestation,
        client=client,
        scopes=parse_scopes(claims.get("scope")),
        acts_for=_acts_for(claims, pid) if kind == "citizen" and pid else (),
        launch_patient=_str(claims.get("patient")),
        token_id=_str(claims.get("jti")),
        dpop_jkt=dpop_jkt,
        issued_at=_time(claims.get("iat")),
        expires_at=_time(claims.get("exp")),
    )


def _kind(claims: dict[str, Any], issuer: TrustedIssuer) -> PrincipalKind:
    if issuer.kind == "idporten":
        return "citizen"
    return "clinician" if claims.get(PID) is not None else "system"


def _security_level(claims: dict[str, Any], helseid: bool) -> int | None:
    if helseid:
        level = _str(claims.get(SECURITY_LEVEL))
        return int(level) if level and (level.isascii() and level.isdigit()) else None
    acr = _str(claims.get("acr"))
    return _ACR_LEVELS.get(acr.lower()) if acr else None


def _client(claims: dict[str, Any]) -> ClientInfo:
    return ClientInfo(
        client_id=_str(claims.get("client_id")),
        client_name=_str(claims.get(CLIENT_NAME)),
        tenancy=_str(claims.get(CLIENT_TENANCY)),
        orgnr_parent=_str(claims.get(ORGNR_PARENT)),
        orgnr_child=_str(claims.get(ORGNR_CHILD)),
        orgnr_supplier=_str(claims.get(ORGNR_SUPPLIER)),
    )


def _organisation(att: Attestation | None, client: ClientInfo) -> Organisation:
    if att is not None and att.organisation.legal_entity:
        return att.organisation
    return Organisation(legal_entity=client.orgnr_parent, point_of_care=client.orgnr_child)


def _trust_framework(claims: dict[str, Any]) -> dict[str, Any] | None:
    value = claims.get(TRUST_FRAMEWORK)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, list):
        value = next(
            (v for v in value if isinstance(v, dict) and v.get("type") == TRUST_FRAMEWORK), None
        )
    if not isinstance(value, dict) or value.get("type", TRUST_FRAMEWORK) != TRUST_FRAMEWORK:
        return None
    return value


def attestation_from_claims(claims: dict[str, Any]) -> Attestation | None:
    """The trust-framework attestation carried in the token, if any."""
    params = _trust_framework(claims)
    if params is None:
        return None
    practitioner = params.get("practitioner") or {}
    care = params.get("care_relationship") or {}
    details = _dig(care, "purpose_of_use_details") or {}
    purpose = _str(_dig(care, "purpose_of_use", "code"))
    attested = _time(care.get("attested_at") if isinstance(care, dict) else None)
    return Attestation(
        purpose_of_use=purpose.upper() if purpose else None,
        purpose_of_use_system=_str(_dig(care, "purpose_of_use", "system")),
        purpose_of_use_details=_str(_dig(details, "code")),
        reason=_reason(details),
        healthcare_service=_str(_dig(care, "healthcare_service", "code")),
        authorization_code=_str(_dig(practitioner, "authorization", "code")),
        decision_ref=_str(_dig(care, "decision_ref", "id")),
        user_selected=_dig(care, "decision_ref", "user_selected") is True,
        attested_at=attested or _time(params.get("attested_at")) or _time(claims.get("iat")),
        organisation=Organisation(
            legal_entity=_str(_dig(practitioner, "legal_entity", "id")),
            point_of_care=_str(_dig(practitioner, "point_of_care", "id")),
            department=_str(_dig(practitioner, "department", "id")),
            legal_entity_name=_str(_dig(practitioner, "legal_entity", "name")),
            point_of_care_name=_str(_dig(practitioner, "point_of_care", "name")),
            department_name=_str(_dig(practitioner, "department", "name")),
        ),
        patients=_attested_patients(params.get("patients"), params.get("patient")),
    )


def _reason(details: Any) -> str | None:
    if not isinstance(details, dict):
        return None
    return _str(details.get("text")) or _str(details.get("display")) or _str(details.get("code"))


def _attested_patients(value: Any, single: Any = None) -> tuple[PatientRef, ...]:
    """Patients named by national ID: `patients[].identifier.id` (or `.value`), a bare
    `patients[].id`, or a single `patient.id`; entries with only care-unit data are skipped."""
    entries = list(value) if isinstance(value, list) else []
    if isinstance(single, dict):
        entries.append(single)
    refs = []
    for entry in entries:
        pid = (
            _str(_dig(entry, "identifier", "id"))
            or _str(_dig(entry, "identifier", "value"))
            or _str(_dig(entry, "id"))
        )
        if pid and (pid.isascii() and pid.isdigit()) and len(pid) == 11:
            refs.append(PatientRef(pid))
    return tuple(refs)


def _acts_for(claims: dict[str, Any], pid: str) -> tuple[ActingFor, ...]:
    acts = [ActingFor(pid, "self", birth_date_from_nin(pid))]
    raw = claims.get(ACTS_FOR)
    for entry in raw if isinstance(raw, list) else []:
        acting = _acting(entry)
        if acting is None:
            log.info("ignoring a malformed acts_for entry")
        elif acting.pid != pid:
            acts.append(acting)
    return tuple(acts)


def _acting(entry: Any) -> ActingFor | None:
    pid = _str(_dig(entry, "pid"))
    relation = _str(_dig(entry, "relation"))
    if (
        not pid
        or not (pid.isascii() and pid.isdigit())
        or len(pid) != 11
        or relation not in RELATIONS
    ):
        return None
    if relation == "self":
        return None
    birth = birth_date_from_nin(pid)
    _check_claimed_birth_date(_dig(entry, "birth_date"), birth)
    return ActingFor(pid, relation, birth)  # type: ignore[arg-type]


def _check_claimed_birth_date(claimed: Any, encoded: date | None) -> None:
    """A claimed birth date must agree with the national ID's (the ID wins, issue 16)."""
    if claimed is None or encoded is None:
        return
    if _str(claimed) != encoded.isoformat():
        raise ClaimsInvalid("acts_for birth_date contradicts the national ID number")
