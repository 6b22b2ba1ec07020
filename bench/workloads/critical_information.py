"""Critical information: what EPJs ask before they open a patient's record.

Patients are sampled from the stored data, half with critical information and half
without (as in the demo population, where a few percent have any): each request is the
cheap indicator (`op` "indicator", `GET Patient/x/$critical-information-indicator`) or, one
time in four, the whole grouped summary (`op` "summary"). Run it on a database holding the
demo population (`samhandling demo --patients N`), e.g. with `--database`.
"""

from __future__ import annotations

import random
from typing import Any

from bench.workloads.base import Prepared, Request, SimpleSource

PROFILE_BASE = "https://samhandling.no/fhir/StructureDefinition/"


def prepare(engine: Any, *, patients: int = 200) -> Prepared:
    from sqlalchemy import select

    from samhandling.store.schema import compartment, index_uri, resource

    with engine.connect() as connection:
        with_entries = (
            connection.execute(
                select(compartment.c.patient_id)
                .join(
                    index_uri,
                    (index_uri.c.resource_type == compartment.c.resource_type)
                    & (index_uri.c.resource_id == compartment.c.resource_id),
                )
                .where(index_uri.c.param == "_profile", index_uri.c.uri.startswith(PROFILE_BASE))
                .distinct()
                .order_by(compartment.c.patient_id)
                .limit(patients // 2)
            )
            .scalars()
            .all()
        )
        others = (
            connection.execute(
                select(resource.c.resource_id)
                .where(resource.c.resource_type == "Patient", resource.c.deleted.is_(False))
                .where(resource.c.resource_id.not_in(with_entries))
                .order_by(resource.c.resource_id)
                .limit(patients - len(with_entries))
            )
            .scalars()
            .all()
        )
    if not with_entries:
        raise RuntimeError("no patient has critical information: load the demo population")
    notes = {"with_critical_information": len(with_entries), "without": len(others)}
    return Prepared({"patients": [*with_entries, *others]}, notes)


class CriticalInformationSource(SimpleSource):
    def next_request(self) -> Request | None:
        patient = self.rng.choice(self.params["patients"])
        if self.rng.random() < 0.25:
            return Request("summary", "GET", f"/fhir/Patient/{patient}/$critical-information")
        return Request(
            "indicator", "GET", f"/fhir/Patient/{patient}/$critical-information-indicator"
        )


def make_source(params: dict[str, Any], rng: random.Random) -> CriticalInformationSource:
    return CriticalInformationSource(params, rng)
