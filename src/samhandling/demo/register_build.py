"""Building the demo register: the personas' organisations and people first, then a few
more municipalities and hospitals. It does not depend on the population's seed, so the
same register (and `register-bundle.json`) serves every population."""

from __future__ import annotations

import datetime as dt

from samhandling.auth.dev.personas import PERSONAS, Persona
from samhandling.demo.names import FAMILY, FEMALE_GIVEN, MALE_GIVEN, STREETS
from samhandling.demo.places import FJORDBYEN, KOMMUNER, Kommune
from samhandling.demo.register_model import Clinician, Numbers, Org, Register
from samhandling.identifiers import classify_person_number
from samhandling.identifiers.person_numbers import Sex

REGISTER_SEED = "samhandling-demo-register"
SEXES: tuple[Sex, Sex] = ("female", "male")
SUPPLIER = ("991000100", "Samhandling utvikling AS")
PERSONA_KINDS = {
    "991000011": "legekontor",
    "991000135": "kommune",
    "991000038": "hjemmetjeneste",
    "991000046": "hf",
    "991000054": "sykehus",
    "991000062": "apotek",
    "991000070": "integrasjon",
    "991000089": "integrasjon",
}
DEPARTMENTS = ("Medisinsk avdeling", "Kirurgisk avdeling", "Barne- og ungdomsklinikken")
HOSPITALS = (
    ("Helse Vestkyst HF", "Vestkyst sykehus", "Bergen"),
    ("Helse Nordkyst HF", "Nordkyst sykehus", "Tromsø"),
)


def build_register() -> Register:
    """The whole demo register (deterministic)."""
    numbers = Numbers(REGISTER_SEED)
    orgs: dict[str, Org] = {}
    clinicians: list[Clinician] = []
    _persona_world(numbers, orgs, clinicians)
    _fjordbyen_extras(numbers, orgs, clinicians)
    for kommune in KOMMUNER[1:]:
        _municipality(numbers, kommune, orgs, clinicians)
    for trust, hospital, town in HOSPITALS:
        kommune = next(k for k in KOMMUNER if k.name == town)
        _hospital(numbers, kommune, trust, hospital, orgs, clinicians)
    return Register(tuple(orgs.values()), tuple(clinicians))


def _persona_world(numbers: Numbers, orgs: dict[str, Org], staff: list[Clinician]) -> None:
    for persona in PERSONAS.values():
        above = None
        for level in (persona.legal_entity, persona.point_of_care):
            if level is not None:
                above = _persona_org(numbers, orgs, level, above)
        if persona.department is not None and above is not None:
            resh, name = persona.department
            org_id = f"resh-{resh}"
            kind = "avdeling"
            orgs.setdefault(org_id, _org(numbers, org_id, name, kind, resh=resh, part_of=above))
            above = org_id
        if persona.kind == "clinician" and persona.hpr_number and above is not None:
            numbers.fnrs.add(persona.pid or "")
            staff.append(_persona_clinician(persona, above))
    org_id = f"org-{SUPPLIER[0]}"
    orgs.setdefault(org_id, _org(numbers, org_id, SUPPLIER[1], "leverandor", orgnr=SUPPLIER[0]))


def _persona_org(
    numbers: Numbers, orgs: dict[str, Org], level: tuple[str, str], above: str | None
) -> str:
    orgnr, name = level
    org_id = f"org-{orgnr}"
    if org_id not in orgs:
        kind = PERSONA_KINDS.get(orgnr, "virksomhet")
        orgs[org_id] = _org(numbers, org_id, name, kind, orgnr=orgnr, part_of=above)
    return org_id


def _persona_clinician(persona: Persona, org_id: str) -> Clinician:
    assert persona.pid is not None and persona.hpr_number is not None
    given, _, family = persona.display_name.partition(" ")
    sex = classify_person_number(persona.pid).sex or "female"
    authorization = persona.authorization or "LE"
    return Clinician(persona.hpr_number, persona.pid, given, family, sex, authorization, org_id)


def _fjordbyen_extras(numbers: Numbers, orgs: dict[str, Org], staff: list[Clinician]) -> None:
    kommune_id, hospital_id = "org-991000135", "org-991000054"
    for kind, name in (("sykehjem", "Fjordbyen sykehjem"), ("legevakt", "Fjordbyen legevakt")):
        org = _org(numbers, "", name, kind, orgnr=numbers.orgnr(), part_of=kommune_id)
        orgs[org.id] = org
        staff += [_clinician(numbers, org.id, "LE"), _clinician(numbers, org.id, "SP")]
    staff.append(_clinician(numbers, "org-991000011", "LE"))
    staff.append(_clinician(numbers, "org-991000038", "SP"))
    staff.append(_clinician(numbers, "org-991000062", "FA1"))
    for name in DEPARTMENTS[1:]:
        resh = numbers.resh()
        org = _org(numbers, f"resh-{resh}", name, "avdeling", resh=resh, part_of=hospital_id)
        orgs[org.id] = org
        staff += [_clinician(numbers, org.id, "LE"), _clinician(numbers, org.id, "SP")]


def _municipality(
    numbers: Numbers, kommune: Kommune, orgs: dict[str, Org], staff: list[Clinician]
) -> None:
    top = _org(numbers, "", f"{kommune.name} kommune", "kommune", kommune, numbers.orgnr())
    orgs[top.id] = top
    units = (
        ("sykehjem", f"{kommune.name} sykehjem"),
        ("hjemmetjeneste", f"{kommune.name} hjemmetjeneste"),
    )
    for kind, name in units:
        org = _org(numbers, "", name, kind, kommune, numbers.orgnr(), part_of=top.id)
        orgs[org.id] = org
        staff.append(_clinician(numbers, org.id, "SP"))
        if kind == "sykehjem":
            staff.append(_clinician(numbers, org.id, "LE"))
    office = _org(
        numbers, "", f"{kommune.name} legesenter AS", "legekontor", kommune, numbers.orgnr()
    )
    pharmacy = _org(numbers, "", f"Apotek {kommune.name} AS", "apotek", kommune, numbers.orgnr())
    orgs[office.id], orgs[pharmacy.id] = office, pharmacy
    staff += [_clinician(numbers, office.id, "LE"), _clinician(numbers, office.id, "LE")]
    staff.append(_clinician(numbers, pharmacy.id, "FA1"))


def _hospital(
    numbers: Numbers,
    kommune: Kommune,
    trust: str,
    name: str,
    orgs: dict[str, Org],
    staff: list[Clinician],
) -> None:
    legal = _org(numbers, "", trust, "hf", kommune, numbers.orgnr())
    site = _org(numbers, "", name, "sykehus", kommune, numbers.orgnr(), part_of=legal.id)
    orgs[legal.id], orgs[site.id] = legal, site
    for department in DEPARTMENTS:
        resh = numbers.resh()
        org = _org(
            numbers, f"resh-{resh}", department, "avdeling", kommune, resh=resh, part_of=site.id
        )
        orgs[org.id] = org
        staff += [_clinician(numbers, org.id, "LE"), _clinician(numbers, org.id, "SP")]


def _org(
    numbers: Numbers,
    org_id: str,
    name: str,
    kind: str,
    kommune: Kommune = FJORDBYEN,
    orgnr: str | None = None,
    *,
    resh: str | None = None,
    part_of: str | None = None,
) -> Org:
    street = f"{numbers.rng.choice(STREETS)} {numbers.rng.randint(1, 60)}"
    org_id = org_id or f"org-{orgnr}"
    return Org(org_id, name, kind, kommune, numbers.her_id(), orgnr, resh, part_of, street)


def _clinician(numbers: Numbers, org_id: str, authorization: str) -> Clinician:
    rng = numbers.rng
    sex = rng.choice(SEXES)
    given = rng.choice(FEMALE_GIVEN if sex == "female" else MALE_GIVEN)
    birth = dt.date(rng.randint(1958, 1995), rng.randint(1, 12), rng.randint(1, 28))
    fnr = numbers.fnr(birth, sex)
    return Clinician(numbers.hpr(), fnr, given, rng.choice(FAMILY), sex, authorization, org_id)
