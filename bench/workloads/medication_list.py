"""The medication list (issue #17): the list read and the guarded update, as a GP.

* `read` (op "read"): `GET Patient/x/$medication-list`, the document Bundle; 200.
* `update` (op "update"): `POST Patient/x/$medication-list-update` with the whole list,
  based on the version just read: every entry of the current list is given, one entry's
  dosage text is changed (alternately "… (justert)" and back, a real change each time)
  with the prescriber's reason; 200.

Half of the cycles are updates: the patient is taken out of the pool, its list read (op
"read"), the update built from that document and sent; the patient goes back to the pool
when the update has answered. So no two updates of one patient are in flight and none is
refused as stale unless something else changed the list: a 409 or 412 is counted as an
error of its own kind ("refused as stale"), never as a success. Plain reads pick any
patient. Needs patients with lists: the demo population (`bench.population --for-all
medication-list`), run with `--database`.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import orjson

from bench.http_client import Response
from bench.workloads.base import JSON_HEADERS, Prepared, Request, SimpleSource

PERSONA = "gp"  # a prescriber (a clinician with purpose of use TREAT)
REASON = "https://samhandling.no/fhir/StructureDefinition/pll-change-reason"
ADJUSTED = " (justert)"
#: issue #17: with the server on one core, PostgreSQL, 100,000 patients having lists
TARGETS = {"read": 20.0, "update": 40.0}  # op -> p50 limit in ms
STALE = "refused as stale (HTTP {status}): another write changed the list"


def prepare(engine: Any, *, patients: int = 2000, seed: int = 17) -> Prepared:
    """Sample patients that have a medication list."""
    from sqlalchemy import select

    from samhandling.store.schema import resource

    with engine.connect() as connection:
        ids = (
            connection.execute(
                select(resource.c.resource_id).where(
                    resource.c.resource_type == "List",
                    resource.c.resource_id.startswith("pll-"),
                    resource.c.deleted.is_(False),
                )
            )
            .scalars()
            .all()
        )
        chosen = random.Random(seed).sample(sorted(ids), min(patients, len(ids)))
        rows = connection.execute(
            select(resource.c.content).where(
                resource.c.resource_type == "List", resource.c.resource_id.in_(chosen)
            )
        ).scalars()
        found = [_patient_of(orjson.loads(bytes(content))) for content in rows]
    with_lists = sorted(p for p in found if p)
    if not with_lists:
        raise RuntimeError("no patient has a medication list: load the demo population")
    notes = {"lists_in_database": len(ids), "patients_sampled": len(with_lists)}
    return Prepared({"patients": with_lists, "update_share": 0.5}, notes, persona=PERSONA)


def _patient_of(listing: dict[str, Any]) -> str | None:
    reference = str((listing.get("subject") or {}).get("reference", ""))
    return reference.removeprefix("Patient/") if reference.startswith("Patient/") else None


def update_body(document: dict[str, Any], count: int) -> tuple[int, bytes] | None:
    """The version read and a save of the whole list with one entry's dosage changed."""
    resources = [e["resource"] for e in document.get("entry", [])]
    listing = next((r for r in resources if r["resourceType"] == "List"), None)
    statements = [r for r in resources if r["resourceType"] == "MedicationStatement"]
    active = [s for s in statements if s.get("status") == "active"]
    if listing is None or not active:
        return None
    version = int(listing["meta"]["versionId"])
    target = active[count % len(active)]
    dosage = str((target.get("dosage") or [{}])[0].get("text", "1 tablett daglig"))
    dosage = dosage.removesuffix(ADJUSTED) if dosage.endswith(ADJUSTED) else dosage + ADJUSTED
    changed = {k: v for k, v in target.items() if k not in ("meta", "extension")}
    changed["dosage"] = [{"text": dosage}]
    changed["extension"] = [{"url": REASON, "valueString": "Dosen justert (benchmark)"}]
    entries = [changed if s is target else s for s in statements]
    parameters = [
        {"name": "basedOn", "valueInteger": version},
        *({"name": "entry", "resource": s} for s in entries),
    ]
    return version, orjson.dumps({"resourceType": "Parameters", "parameter": parameters})


class MedicationListSource(SimpleSource):
    def __init__(self, params: dict[str, Any], rng: random.Random) -> None:
        super().__init__(params, rng)
        self.patients: list[str] = params["patients"]
        self.idle: deque[str] = deque(rng.sample(self.patients, len(self.patients)))
        self.ready: deque[Request] = deque()  # updates built from a read, to send next
        self.updates = 0

    def next_request(self) -> Request | None:
        if self.ready:
            return self.ready.popleft()
        if self.idle and self.rng.random() < self.params["update_share"]:
            patient = self.idle.popleft()  # out of the pool until its update answers
            return Request("read", "GET", _path(patient, "medication-list"), context=patient)
        patient = self.rng.choice(self.patients)
        return Request("read", "GET", _path(patient, "medication-list"))

    def on_response(self, request: Request, response: Response) -> str | None:
        if request.op == "update":
            self.idle.append(request.context)
            if response.status in (409, 412):
                return STALE.format(status=response.status)
            return super().on_response(request, response)
        problem = super().on_response(request, response)
        if request.context is None:
            return problem
        built = None if problem else update_body(orjson.loads(response.body), self.updates)
        if built is None:
            self.idle.append(request.context)
            return problem or "the list has no active entry to change"
        self.updates += 1
        path = _path(request.context, "medication-list-update")
        self.ready.append(
            Request("update", "POST", path, built[1], JSON_HEADERS, context=request.context)
        )
        return None


def _path(patient: str, operation: str) -> str:
    return f"/fhir/Patient/{patient}/${operation}"


def make_source(params: dict[str, Any], rng: random.Random) -> MedicationListSource:
    return MedicationListSource(params, rng)
