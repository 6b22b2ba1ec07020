"""Development personas: who the dev issuer's tokens speak for.

All national ID numbers are synthetic test numbers (month + 80, valid check digits, no
real person can have them); organisation numbers are fictitious with valid check digits
(99100xxxx); HPR numbers are fictitious. The clinician personas carry a trust-framework
attestation; the citizen personas are issued by the dev issuer's ID-porten-like twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from samhandling.auth.principal import birth_date_from_nin

PersonaKind = Literal["clinician", "citizen", "system"]


@dataclass(frozen=True)
class Persona:
    """One persona's fixed claims."""

    name: str
    kind: PersonaKind
    display_name: str
    scopes: tuple[str, ...]
    pid: str | None = None
    hpr_number: str | None = None
    authorization: str | None = None  # 9060 code: LE physician, SP nurse, FA1 pharmacist
    legal_entity: tuple[str, str] | None = None  # (orgnr, name)
    point_of_care: tuple[str, str] | None = None
    department: tuple[str, str] | None = None  # (RESH id, name)
    healthcare_service: str | None = None  # 8655 code
    client_id: str = "samhandling-dev-epj"
    client_name: str = "Samhandling dev EPJ"
    orgnr_supplier: str = "991000100"
    security_level: int = 4
    default_child_pid: str | None = None
    grantor_pid: str | None = None  # the adult who gave this persona a power of attorney


PERSONAS: dict[str, Persona] = {
    p.name: p
    for p in (
        Persona(
            "gp",
            "clinician",
            "Gro Fastlege",
            ("user/*.crus",),
            pid="12837510110",
            hpr_number="9100001",
            authorization="LE",
            legal_entity=("991000011", "Fjordbyen legesenter AS"),
            point_of_care=("991000011", "Fjordbyen legesenter AS"),
            client_name="Fjordbyen EPJ",
        ),
        Persona(
            "home-care-nurse",
            "clinician",
            "Hanne Hjemmesykepleier",
            ("user/*.rs", "user/Observation.cu"),
            pid="03888220096",
            hpr_number="9100002",
            authorization="SP",
            legal_entity=("991000135", "Fjordbyen kommune"),
            point_of_care=("991000038", "Fjordbyen hjemmetjeneste"),
            client_name="Fjordbyen pleie og omsorg",
        ),
        Persona(
            "hospital-physician",
            "clinician",
            "Henrik Sykehuslege",
            ("user/*.crus",),
            pid="23906830078",
            hpr_number="9100003",
            authorization="LE",
            legal_entity=("991000046", "Helse Fjordbyen HF"),
            point_of_care=("991000054", "Fjordbyen sykehus"),
            department=("4001234", "Medisinsk avdeling"),
            healthcare_service="S03",
            client_name="Fjordbyen sykehus DIPS-like EPJ",
        ),
        Persona(
            "pharmacist",
            "clinician",
            "Per Farmasøyt",
            (
                "user/Patient.rs",
                "user/MedicationStatement.rs",
                "user/MedicationRequest.rs",
                "user/MedicationDispense.crus",
                "user/AllergyIntolerance.rs?category=medication",  # drug reactions only
                "user/Medication.rs",
                "user/Composition.rs",
                "user/List.rs",
            ),
            pid="17918015094",
            hpr_number="9100004",
            authorization="FA1",
            legal_entity=("991000062", "Fjordbyen apotek AS"),
            point_of_care=("991000062", "Fjordbyen apotek AS"),
            client_name="Fjordbyen apoteksystem",
        ),
        Persona(
            "citizen",
            "citizen",
            "Cecilie Innbygger",
            ("patient/*.rs",),
            pid="05858540072",
            client_id="samhandling-dev-portal",
            client_name="Samhandling dev innbyggerportal",
        ),
        Persona(
            "parent",
            "citizen",
            "Petter Forelder",
            ("patient/*.rs",),
            pid="21908345182",
            client_id="samhandling-dev-portal",
            client_name="Samhandling dev innbyggerportal",
            default_child_pid="07851950170",
        ),
        Persona(
            "attorney",
            "citizen",
            "Frida Fullmektig",
            ("patient/*.rs",),
            pid="14836815271",
            client_id="samhandling-dev-portal",
            client_name="Samhandling dev innbyggerportal",
            grantor_pid="02904128913",  # Gunnar Fullmektig, her father, gave her the power
        ),
        Persona(
            "system",
            "system",
            "Fjordbyen integrasjonsmotor",
            ("system/*.cruds",),
            legal_entity=("991000070", "Fjordbyen integrasjon AS"),
            point_of_care=("991000089", "Fjordbyen integrasjon avd. lab"),
            client_id="samhandling-dev-system",
            client_name="Fjordbyen integrasjonsmotor",
            security_level=0,
        ),
        Persona(
            "security-officer",
            "system",
            "Fjordbyen personvernkonsoll",
            ("system/AuditEvent.rs",),
            legal_entity=("991000070", "Fjordbyen integrasjon AS"),
            point_of_care=("991000089", "Fjordbyen integrasjon avd. lab"),
            client_id="samhandling-dev-security-officer",
            client_name="Fjordbyen personvernkonsoll",
            security_level=0,
        ),
    )
}


def persona(name: str) -> Persona:
    """The persona with this name; KeyError listing the known names otherwise."""
    try:
        return PERSONAS[name]
    except KeyError:
        raise KeyError(f"unknown persona {name!r}; known: {', '.join(PERSONAS)}") from None


def acting_for(pid: str, relation: str) -> dict[str, str]:
    """An `acts_for` entry: the person, the relation, the birth date of the national ID."""
    entry = {"pid": pid, "relation": relation}
    born = birth_date_from_nin(pid)
    if born is not None:
        entry["birth_date"] = born.isoformat()
    return entry
