"""Who is calling: the Principal built from a verified access token.

A principal is a clinician (a person logged in through HelseID, with an HPR number when
they are authorised health personnel), a system (a HelseID client-credentials token with no
person), or a citizen (an ID-porten-like token). National ID numbers are kept in fields
excluded from `repr`; use `masked_pid` (birth date digits + `*****`) anywhere a human or a
log might see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from samhandling.auth.scopes import ScopeSet

PrincipalKind = Literal["clinician", "citizen", "system"]
Relation = Literal["self", "parent", "power-of-attorney", "guardian"]
RELATIONS: tuple[str, ...] = ("self", "parent", "power-of-attorney", "guardian")
EMERGENCY_PURPOSES = frozenset({"ETREAT", "BTG"})
PURPOSES = frozenset({"TREAT", "ETREAT", "COC", "BTG"})


def mask_pid(pid: str | None) -> str | None:
    """`01019012345` → `010190*****`; anything else is fully masked."""
    if pid is None:
        return None
    if len(pid) == 11 and (pid.isascii() and pid.isdigit()):
        return pid[:6] + "*****"
    return "*" * len(pid)


def birth_date_from_nin(nin: str) -> date | None:
    """Birth date encoded in a fødselsnummer, D-number, H-number or synthetic test number;
    None for felles hjelpenummer and anything without a valid date."""
    if len(nin) != 11 or not (nin.isascii() and nin.isdigit()) or nin[0] in "89":
        return None
    day, month, yy, individual = int(nin[0:2]), int(nin[2:4]), int(nin[4:6]), int(nin[6:9])
    if day > 40:
        day -= 40  # D-number
    for offset in (80, 65, 40):  # synthetic (Tenor / NHN test persons), H-number
        if month > offset:
            month -= offset
            break
    century = _century(individual, yy)
    if century is None:
        return None
    try:
        return date(century + yy, month, day)
    except ValueError:
        return None


def _century(individual: int, yy: int) -> int | None:
    if individual <= 499:
        return 1900
    if individual <= 749 and yy >= 54:
        return 1800
    if yy <= 39:
        return 2000
    if individual >= 900:
        return 1900
    return None


@dataclass(frozen=True)
class Organisation:
    """Where the clinician works: legal entity and point of care (organisation numbers) and
    department (RESH id), from the attestation or, failing that, the client's claims."""

    legal_entity: str | None = None
    point_of_care: str | None = None
    department: str | None = None
    legal_entity_name: str | None = None
    point_of_care_name: str | None = None
    department_name: str | None = None


@dataclass(frozen=True)
class PatientRef:
    """A patient named in an attestation, with the Patient id once the caller resolved it."""

    pid: str = field(repr=False)
    patient_id: str | None = None

    @property
    def masked_pid(self) -> str | None:
        """The pid with its individual and check digits masked."""
        return mask_pid(self.pid)


@dataclass(frozen=True)
class Attestation:
    """The trust-framework attestation (`nhn:tillitsrammeverk:parameters`).

    `attested_at` is the attestation's explicit `attested_at` when present, else the
    token's `iat` (the issuer copies the attestation into the token when it issues it).
    `reason` is the documented reason of the access: the `text`, else `display`, else
    `code` of `care_relationship.purpose_of_use_details`; emergency access needs it.
    """

    purpose_of_use: str | None = None
    purpose_of_use_system: str | None = None
    purpose_of_use_details: str | None = None
    reason: str | None = None
    healthcare_service: str | None = None
    authorization_code: str | None = None
    decision_ref: str | None = None
    user_selected: bool | None = None
    attested_at: datetime | None = None
    organisation: Organisation = field(default_factory=Organisation)
    patients: tuple[PatientRef, ...] = ()

    @property
    def is_emergency(self) -> bool:
        """Whether the purpose of use is emergency treatment or break-the-glass."""
        return self.purpose_of_use in EMERGENCY_PURPOSES


@dataclass(frozen=True)
class GrantStanding:
    """What the platform's register of powers of attorney said about one `ActingFor` by
    power of attorney, looked up before the policy runs
    (`services.identity.powers_of_attorney.confirm_powers_of_attorney`) so the policy stays
    pure: `refusal` is None when a current grant names the citizen, else why not."""

    refusal: str | None


@dataclass(frozen=True)
class ActingFor:
    """A person a citizen may act for: themselves, a child, or by power of attorney or
    guardianship. `patient_id` is filled by the caller (see `Principal.with_patient_ids`);
    for a power of attorney, `grant` is the register's answer (None: not consulted, which
    the policy refuses)."""

    pid: str = field(repr=False)
    relation: Relation
    birth_date: date | None = None
    patient_id: str | None = None
    grant: GrantStanding | None = None

    @property
    def masked_pid(self) -> str | None:
        """The pid with its individual and check digits masked."""
        return mask_pid(self.pid)


@dataclass(frozen=True)
class ClientInfo:
    """The calling system: HelseID client id and name, tenancy and organisation numbers."""

    client_id: str | None = None
    client_name: str | None = None
    tenancy: str | None = None
    orgnr_parent: str | None = None
    orgnr_child: str | None = None
    orgnr_supplier: str | None = None


@dataclass(frozen=True)
class RegisterStanding:
    """What the base registers said about the caller when its request began, looked up
    before the policy runs (`api.authentication.RegisterCheck`) so the policy stays pure:
    `refusal` is None when its practitioner and organisations are registered, else why not.
    """

    refusal: str | None


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    kind: PrincipalKind
    issuer: str
    subject: str | None
    pid: str | None = field(default=None, repr=False)
    hpr_number: str | None = None
    name: str | None = None
    security_level: int | None = None
    network: str | None = None
    organisation: Organisation = field(default_factory=Organisation)
    attestation: Attestation | None = None
    client: ClientInfo = field(default_factory=ClientInfo)
    scopes: ScopeSet = field(default_factory=ScopeSet)
    acts_for: tuple[ActingFor, ...] = ()
    launch_patient: str | None = None
    token_id: str | None = None
    dpop_jkt: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    #: None until the registers were consulted (`RegisterStanding`)
    registers: RegisterStanding | None = None

    @property
    def masked_pid(self) -> str | None:
        """The pid as `010190*****`, safe for logs and screens."""
        return mask_pid(self.pid)

    @property
    def purpose_of_use(self) -> str | None:
        """The attested purpose of use (TREAT, ETREAT, COC, BTG), if any."""
        return self.attestation.purpose_of_use if self.attestation else None

    @property
    def is_emergency(self) -> bool:
        """Whether this is emergency access (ETREAT or BTG)."""
        return bool(self.attestation and self.attestation.is_emergency)

    @property
    def emergency_reason(self) -> str | None:
        """The documented reason when the access is an emergency access, else None."""
        return self.attestation.reason if self.attestation and self.is_emergency else None

    @property
    def patient_pids(self) -> tuple[str, ...]:
        """The national IDs the caller must resolve to Patient ids (`with_patient_ids`):
        a citizen's own and represented persons; a clinician's attested patients."""
        if self.kind == "citizen":
            return tuple(a.pid for a in self.acts_for)
        if self.attestation:
            return tuple(p.pid for p in self.attestation.patients)
        return ()

    def with_patient_ids(self, ids_by_pid: dict[str, str]) -> Principal:
        """A copy with `patient_id` filled from a pid → Patient id mapping."""
        acts = tuple(
            replace(a, patient_id=ids_by_pid.get(a.pid, a.patient_id)) for a in self.acts_for
        )
        att = self.attestation
        if att is not None:
            pats = tuple(
                replace(p, patient_id=ids_by_pid.get(p.pid, p.patient_id)) for p in att.patients
            )
            att = replace(att, patients=pats)
        return replace(self, acts_for=acts, attestation=att)

    def audit_agent(self) -> dict[str, Any]:
        """Who acted, for an audit record: never a token, never a full national ID."""
        att = self.attestation
        return {
            "kind": self.kind,
            "issuer": self.issuer,
            "masked_pid": self.masked_pid,
            "hpr_number": self.hpr_number,
            "name": self.name,
            "organisation": self.organisation.legal_entity,
            "point_of_care": self.organisation.point_of_care,
            "department": self.organisation.department,
            "organisation_name": self.organisation.legal_entity_name,
            "point_of_care_name": self.organisation.point_of_care_name,
            "department_name": self.organisation.department_name,
            "client_id": self.client.client_id,
            "client_name": self.client.client_name,
            "purpose_of_use": att.purpose_of_use if att else None,
            "healthcare_service": att.healthcare_service if att else None,
            "decision_ref": att.decision_ref if att else None,
            "emergency_reason": self.emergency_reason,
            "token_id": self.token_id,
        }
