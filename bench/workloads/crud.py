"""The CRUD mix (and the create-only workload) over the five resource types of the comparisons.

Shaped like the public FHIR server comparisons: each request picks a type uniformly from
Patient, Observation, Condition, Encounter and MedicationRequest and an operation by weight,
C10/R60/U25/D5 by default:

- create: POST Type with the body of a stored resource (id and meta removed); 201;
- read: GET Type/id of a stored resource; 200;
- update: PUT Type/id with a changed narrative (every update re-indexes the whole resource);
  200;
- delete: DELETE Type/id of a stored resource set aside for deletion (then of resources this
  run created), so that no read or update ever meets a deleted resource; 204.

Requests carry no `Prefer` header: creates and updates return the stored resource.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import orjson

from bench.http_client import Response
from bench.workloads import CRUD_TYPES
from bench.workloads.base import JSON_HEADERS, Prepared, Request, SimpleSource

CRUD_MIX = {"create": 10, "read": 60, "update": 25, "delete": 5}
CREATE_ONLY = {"create": 100}
# Updates alone (`compare --workloads update`): the mix's PUT measured by itself (issue #24)
UPDATE_ONLY = {"update": 100}


def prepare(engine: Any, mix: dict[str, int], *, pool: int = 200, deletable: int = 500) -> Prepared:
    """Sample stored resources of every CRUD type: a read/update pool and a delete pool."""
    from sqlalchemy import select

    from samhandling.store.schema import resource

    records: dict[str, list[list[str]]] = {}
    to_delete: dict[str, list[str]] = {}
    wanted_deletes = deletable if mix.get("delete") else 0
    with engine.connect() as connection:
        for rtype in CRUD_TYPES:
            rows = connection.execute(
                select(resource.c.resource_id, resource.c.content)
                .where(resource.c.resource_type == rtype, resource.c.deleted.is_(False))
                .order_by(resource.c.resource_id)
                .limit(pool + wanted_deletes)
            ).all()
            if not rows:
                raise RuntimeError(f"no stored {rtype} to build the CRUD workload from")
            records[rtype] = [[r.resource_id, bytes(r.content).decode()] for r in rows[:pool]]
            to_delete[rtype] = [r.resource_id for r in rows[pool:]]
    notes = {
        "mix": mix,
        "types": list(CRUD_TYPES),
        "pool_per_type": {t: len(v) for t, v in records.items()},
        "deletable_per_type": {t: len(v) for t, v in to_delete.items()},
    }
    return Prepared({"mix": mix, "records": records, "deletable": to_delete}, notes)


class CrudSource(SimpleSource):
    def __init__(self, params: dict[str, Any], rng: random.Random) -> None:
        super().__init__(params, rng)
        mix: dict[str, int] = params["mix"]
        self.ops = list(mix)
        total = sum(mix.values())
        self.cumulative = []
        acc = 0.0
        for op in self.ops:
            acc += mix[op] / total
            self.cumulative.append(acc)
        self.types = list(params["records"])
        self.records: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.templates: dict[str, list[bytes]] = {}
        for rtype, rows in params["records"].items():
            parsed = [(rid, orjson.loads(text)) for rid, text in rows]
            self.records[rtype] = parsed
            self.templates[rtype] = [
                orjson.dumps({k: v for k, v in body.items() if k not in ("id", "meta")})
                for _, body in parsed
            ]
        self.deletable = {t: deque(ids) for t, ids in params["deletable"].items()}
        self.created: dict[str, deque[str]] = {t: deque() for t in self.types}
        self.updates = 0

    def _op(self) -> str:
        x = self.rng.random()
        for op, limit in zip(self.ops, self.cumulative, strict=True):
            if x < limit:
                return op
        return self.ops[-1]

    def next_request(self) -> Request | None:
        op, rtype = self._op(), self.rng.choice(self.types)
        if op == "delete":
            pool = self.deletable.get(rtype) or self.created[rtype]
            if pool:
                rid = pool.popleft()
                return Request("delete", "DELETE", f"/fhir/{rtype}/{rid}", expect=(204,))
            op = "create"
        if op == "create":
            body = self.rng.choice(self.templates[rtype])
            return Request(
                "create", "POST", f"/fhir/{rtype}", body, JSON_HEADERS, (201,), context=rtype
            )
        rid, current = self.rng.choice(self.records[rtype])
        if op == "read":
            return Request("read", "GET", f"/fhir/{rtype}/{rid}")
        self.updates += 1
        div = f'<div xmlns="http://www.w3.org/1999/xhtml">bench update {self.updates}</div>'
        body = orjson.dumps({**current, "text": {"status": "generated", "div": div}})
        return Request("update", "PUT", f"/fhir/{rtype}/{rid}", body, JSON_HEADERS)

    def on_response(self, request: Request, response: Response) -> str | None:
        problem = super().on_response(request, response)
        if problem is None and request.op == "create":
            location = response.headers.get("location", "")
            parts = location.split("/_history/")[0].rsplit("/", 1)
            if len(parts) == 2:
                self.created[request.context].append(parts[1])
        return problem


def make_source(params: dict[str, Any], rng: random.Random) -> CrudSource:
    return CrudSource(params, rng)
