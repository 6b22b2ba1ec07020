"""The people of the synthetic population: households of citizens with valid synthetic
national IDs, Norwegian names and addresses, a GP each, and families whose children fall
in each age band of the proxy rules (under 12, 12–15, 16 and over).

Ages are fixed relative to 1 January of the current year (the *anchor*): a child of age A
on the anchor is A or A+1 for the whole year, so the bands hold all year, and the same
seed gives the same people for the whole calendar year.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace

from samhandling.auth.dev.personas import PERSONAS
from samhandling.demo.names import FAMILY, FEMALE_GIVEN, MALE_GIVEN, STREETS
from samhandling.demo.places import FJORDBYEN, KOMMUNER, Kommune
from samhandling.demo.register_model import Register
from samhandling.identifiers import classify_person_number, generate_synthetic_fnr
from samhandling.identifiers.person_numbers import Sex

SEXES: tuple[Sex, Sex] = ("female", "male")
CHILD_BANDS = ((1, 9), (12, 14), (16, 20))
"""Ages on the anchor date: under 12, 12-15, and 16+ all year round."""
KOMMUNE_WEIGHTS = (4, 1, 1, 1, 1, 1)  # Fjordbyen, the personas' home, holds the most people
PERSONA_GP_ROLE = "role-9100001"  # Gro Fastlege, the gp persona


@dataclass(frozen=True)
class Home:
    """Where a household lives and whose GP list it is on."""

    kommune: Kommune
    street: str
    gp_role: str | None


@dataclass(frozen=True)
class Person:
    """One citizen."""

    id: str
    fnr: str
    given: str
    family: str
    gender: Sex
    birth: dt.date
    home: Home
    parents: tuple[str, ...] = ()
    nursing_home: str | None = None
    attorneys: tuple[str, ...] = ()  # who holds this person's power of attorney


@dataclass
class PeopleBuilder:
    """Draws people from one seeded random generator; national IDs are never repeated."""

    rng_seed: str
    id_prefix: str
    register: Register
    anchor: dt.date
    used: set[str] = field(default_factory=set)
    count: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.rng_seed)
        self.used |= {c.fnr for c in self.register.clinicians}
        self.used |= {p.pid for p in PERSONAS.values() if p.pid}
        self.used |= {p.default_child_pid for p in PERSONAS.values() if p.default_child_pid}
        self.used |= {p.grantor_pid for p in PERSONAS.values() if p.grantor_pid}

    def birth_date(self, age: int) -> dt.date:
        """A birth date giving `age` on the anchor date (never 1 January)."""
        start = dt.date(self.anchor.year - age - 1, 1, 1)
        return start + dt.timedelta(days=self.rng.randint(1, 364))

    def fnr(self, birth: dt.date, sex: Sex) -> str:
        while True:
            number = generate_synthetic_fnr(self.rng, birth, sex)
            if number not in self.used:
                self.used.add(number)
                return number

    def person(
        self,
        age: int,
        family: str,
        home: Home | None = None,
        parents: tuple[str, ...] = (),
        nursing_home: str | None = None,
    ) -> Person:
        """A new citizen of `age` living at `home` (or at a new home)."""
        sex = self.rng.choice(SEXES)
        birth = self.birth_date(age)
        home = home or self.new_home()
        given = self.rng.choice(FEMALE_GIVEN if sex == "female" else MALE_GIVEN)
        self.count += 1
        person_id = f"{self.id_prefix}{self.count:05d}"
        fnr = self.fnr(birth, sex)
        return Person(person_id, fnr, given, family, sex, birth, home, parents, nursing_home)

    def new_home(self, kommune: Kommune | None = None) -> Home:
        kommune = kommune or self.rng.choices(KOMMUNER, weights=KOMMUNE_WEIGHTS)[0]
        street = f"{self.rng.choice(STREETS)} {self.rng.randint(1, 120)}"
        gps = self.register.working_at(self.register.of_kind(kommune, "legekontor"))
        return Home(kommune, street, self.rng.choice(gps).role_id if gps else None)


def generate_households(builder: PeopleBuilder, patients: int) -> list[list[Person]]:
    """Households until `patients` people exist; the first is a family with one child in
    each age band (when there is room for five people)."""
    households: list[list[Person]] = []
    remaining = patients
    while remaining > 0:
        kind, children = _shape(builder.rng, first=not households and patients >= 5)
        members = _household(builder, kind, children)[:remaining]
        households.append(members)
        remaining -= len(members)
    return households


def _shape(rng: random.Random, *, first: bool) -> tuple[str, list[int]]:
    """The kind of household and the children's ages on the anchor date, oldest first."""
    if first:
        return "family", [rng.randint(*band) for band in reversed(CHILD_BANDS)]
    draw = rng.random()
    if draw < 0.40:
        kind, count = ("family", rng.randint(1, 3)) if draw < 0.30 else ("single-parent", 1)
        ages = [rng.randint(*rng.choice(CHILD_BANDS)) for _ in range(count)]
        return kind, sorted(ages, reverse=True)
    if draw < 0.62:
        return "couple", []
    return ("single", []) if draw < 0.90 else ("nursing-home", [])


def _household(builder: PeopleBuilder, kind: str, children: list[int]) -> list[Person]:
    rng = builder.rng
    family = rng.choice(FAMILY)
    if kind == "nursing-home":
        return [_nursing_home_resident(builder, family)]
    if kind == "single":
        return [builder.person(rng.randint(18, 90), family)]
    oldest = max(children, default=0)
    age = oldest + rng.randint(22, 40) if children else rng.randint(25, 80)
    first = builder.person(age, family)
    adults = [first]
    if kind in ("family", "couple"):
        partner_family = family if rng.random() < 0.6 else rng.choice(FAMILY)
        partner_age = max(oldest + 20, age + rng.randint(-5, 5))
        adults.append(builder.person(partner_age, partner_family, first.home))
    parents = tuple(a.id for a in adults)
    kids = [builder.person(a, family, first.home, parents) for a in children]
    return adults + kids


def _nursing_home_resident(builder: PeopleBuilder, family: str) -> Person:
    """An old person living in the nursing home of a kommune, on its doctor's list."""
    home = builder.new_home()
    nursing_homes = builder.register.of_kind(home.kommune, "sykehjem")
    if not nursing_homes:
        return builder.person(builder.rng.randint(80, 99), family, home)
    nursing_home = nursing_homes[0]
    doctors = builder.register.working_at([nursing_home])
    where = Home(home.kommune, nursing_home.street, doctors[0].role_id if doctors else None)
    return builder.person(builder.rng.randint(80, 99), family, where, nursing_home=nursing_home.id)


def persona_households(register: Register, anchor: dt.date) -> tuple[list[list[Person]], set[str]]:
    """The citizen personas (the same for every seed) and the national IDs they use:
    Cecilie Innbygger alone, Petter Forelder with three children — the persona child
    (under 12), one aged 12-15 and one aged 16 or more — and Frida Fullmektig with her
    father Gunnar, who gave her a power of attorney (loaded together, living apart)."""
    citizen, parent = PERSONAS["citizen"], PERSONAS["parent"]
    assert citizen.pid and parent.pid and parent.default_child_pid
    home = Home(FJORDBYEN, "Bakkeveien 3", PERSONA_GP_ROLE)
    cecilie = _persona("persona-citizen", citizen.pid, "Cecilie", "Innbygger")
    cecilie = _moved(cecilie, Home(FJORDBYEN, "Fjordveien 7", PERSONA_GP_ROLE))
    petter = _moved(_persona("persona-parent", parent.pid, "Petter", "Forelder"), home)
    child = _persona("persona-child", parent.default_child_pid, "Peder", "Forelder")
    children = [_moved(child, home, (petter.id,))]
    builder = PeopleBuilder("samhandling-demo-persona-family", "persona-child-", register, anchor)
    children += [builder.person(age, "Forelder", home, (petter.id,)) for age in (17, 13)]
    return [[cecilie], [petter, *children], _attorney_and_grantor()], builder.used


def _attorney_and_grantor() -> list[Person]:
    attorney = PERSONAS["attorney"]
    assert attorney.pid and attorney.grantor_pid
    frida = _persona("persona-attorney", attorney.pid, "Frida", "Fullmektig")
    frida = _moved(frida, Home(FJORDBYEN, "Strandgata 12", PERSONA_GP_ROLE))
    gunnar = _persona("persona-grantor", attorney.grantor_pid, "Gunnar", "Fullmektig")
    gunnar = _moved(gunnar, Home(FJORDBYEN, "Kirkebakken 4", PERSONA_GP_ROLE))
    return [frida, replace(gunnar, attorneys=(frida.id,))]


def _persona(person_id: str, fnr: str, given: str, family: str) -> Person:
    number = classify_person_number(fnr)
    assert number.birth_date is not None
    sex: Sex = number.sex or "female"
    return Person(person_id, fnr, given, family, sex, number.birth_date, Home(FJORDBYEN, "", None))


def _moved(person: Person, home: Home, parents: tuple[str, ...] = ()) -> Person:
    return Person(
        person.id,
        person.fnr,
        person.given,
        person.family,
        person.gender,
        person.birth,
        home,
        parents or person.parents,
    )
