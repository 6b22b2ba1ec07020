"""The register of the demo world: organisations and health personnel, before they become
FHIR resources (see `register_resources`)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from samhandling.demo.places import Kommune
from samhandling.identifiers import generate_synthetic_fnr, is_valid_organisation_number
from samhandling.identifiers.person_numbers import Sex

AUTHORIZATIONS = {"LE": "Lege", "SP": "Sykepleier", "FA1": "Provisorfarmasøyt"}
"""Health-personnel authorisations used here (code system 9060)."""

ROLE_OF_AUTHORIZATION = {"LE": "doctor", "SP": "nurse", "FA1": "pharmacist"}


@dataclass(frozen=True)
class Org:
    """An organisation: a legal entity, a point of care or a department."""

    id: str
    name: str
    kind: str  # kommune, sykehjem, hjemmetjeneste, legevakt, legekontor, apotek, hf, ...
    kommune: Kommune
    her_id: str
    orgnr: str | None = None
    resh: str | None = None
    part_of: str | None = None
    street: str = "Storgata 1"


@dataclass(frozen=True)
class Clinician:
    """A health professional with an HPR number, an authorisation and one role."""

    hpr: str
    fnr: str
    given: str
    family: str
    gender: Sex
    authorization: str
    org_id: str

    @property
    def id(self) -> str:
        return f"hpr-{self.hpr}"

    @property
    def role_id(self) -> str:
        return f"role-{self.hpr}"


@dataclass(frozen=True)
class Register:
    """Every organisation and clinician of the demo world."""

    organisations: tuple[Org, ...]
    clinicians: tuple[Clinician, ...]

    def org(self, org_id: str) -> Org:
        return next(o for o in self.organisations if o.id == org_id)

    def of_kind(self, kommune: Kommune, kind: str) -> list[Org]:
        return [o for o in self.organisations if o.kommune == kommune and o.kind == kind]

    def working_at(self, orgs: list[Org], authorization: str = "LE") -> list[Clinician]:
        ids = {o.id for o in orgs}
        return [c for c in self.clinicians if c.org_id in ids and c.authorization == authorization]


class Numbers:
    """Fictitious register numbers, handed out in sequence (deterministic, never reused).

    Organisation numbers 99101xxxC (valid check digit; the personas use 99100xxxx), HPR
    numbers from 9100100 (personas: 9100001-9100004), RESH ids from 4002000, HER-ids
    from 8100000.
    """

    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)
        self._org, self._hpr, self._resh, self._her = 99101000, 9100100, 4002000, 8100000
        self.fnrs: set[str] = set()

    def orgnr(self) -> str:
        while True:
            body = str(self._org)
            self._org += 1
            for digit in "0123456789":
                if is_valid_organisation_number(body + digit):
                    return body + digit

    def hpr(self) -> str:
        self._hpr += 1
        return str(self._hpr)

    def resh(self) -> str:
        self._resh += 1
        return str(self._resh)

    def her_id(self) -> str:
        self._her += 1
        return str(self._her)

    def fnr(self, birth: dt.date, sex: Sex) -> str:
        """A synthetic fødselsnummer not handed out before by this instance."""
        while True:
            number = generate_synthetic_fnr(self.rng, birth, sex)
            if number not in self.fnrs:
                self.fnrs.add(number)
                return number
