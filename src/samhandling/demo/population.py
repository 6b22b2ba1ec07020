"""The synthetic Norwegian population: `population_bundles(patients, seed)` gives the
transaction Bundles that create it — the register first, then the citizens.

Deterministic: the same `patients`, `seed` and calendar year give the same resources with
the same ids (every id is fixed, every entry a PUT, so loading twice is harmless). The
development personas' people and organisations are always included (see `persona_households`
and `register_build`), so persona tokens meet registered data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from samhandling.demo.people import PeopleBuilder, generate_households, persona_households
from samhandling.demo.people_resources import household_resources
from samhandling.demo.register_build import build_register
from samhandling.demo.register_resources import register_resources, transaction

ENTRIES_PER_BUNDLE = 200
#: a service's demo data: (person, register, seed, anchor date) -> its resources for them
DemoHook = Callable[[Any, Any, int, dt.date], list[dict[str, Any]]]


def register_bundle() -> dict[str, Any]:
    """The register of organisations and health personnel (`register-bundle.json`)."""
    return transaction(register_resources(build_register()))


def population_bundles(
    patients: int, seed: int, today: dt.date | None = None, hooks: Sequence[DemoHook] = ()
) -> list[dict[str, Any]]:
    """The register Bundle, then Bundles of whole households: the personas' and
    `patients` generated citizens (ids `demo-<seed>-<n>`), with what the services' demo
    `hooks` add for each person (`Service.demo`: e.g. the critical information of a few
    percent of them)."""
    if patients < 0:
        raise ValueError("the number of patients cannot be negative")
    register = build_register()
    anchor = dt.date((today or dt.date.today()).year, 1, 1)
    households, used = persona_households(register, anchor)
    builder = PeopleBuilder(f"samhandling-demo-people:{seed}", f"demo-{seed}-", register, anchor)
    builder.used |= used
    households += generate_households(builder, patients)
    bundles = [transaction(register_resources(register))]
    chunk: list[dict[str, Any]] = []
    for members in households:
        resources = household_resources(members)
        for person in members:
            for hook in hooks:
                resources += hook(person, register, seed, anchor)
        if chunk and len(chunk) + len(resources) > ENTRIES_PER_BUNDLE:
            bundles.append(transaction(chunk))
            chunk = []
        chunk += resources
    if chunk:
        bundles.append(transaction(chunk))
    return bundles
