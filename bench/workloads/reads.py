"""Reads by id: GET Type/id of stored resources of the five CRUD types, chosen at random.

The same request stream runs against the server and against the bare ceiling app
(bench/ceilings/bare_app.py), so the ratio of the two throughputs is our share of the
read ceiling.
"""

from __future__ import annotations

import random
from typing import Any

from bench.workloads import CRUD_TYPES
from bench.workloads.base import Prepared, Request, SimpleSource


def prepare(engine: Any, *, per_type: int = 1000) -> Prepared:
    from sqlalchemy import select

    from samhandling.store.schema import resource

    keys: list[list[str]] = []
    with engine.connect() as connection:
        for rtype in CRUD_TYPES:
            ids = connection.execute(
                select(resource.c.resource_id)
                .where(resource.c.resource_type == rtype, resource.c.deleted.is_(False))
                .order_by(resource.c.resource_id)
                .limit(per_type)
            ).scalars()
            keys.extend([rtype, rid] for rid in ids)
    if not keys:
        raise RuntimeError("no stored resources to read")
    return Prepared({"keys": keys}, {"keys": len(keys), "types": list(CRUD_TYPES)})


class ReadSource(SimpleSource):
    def __init__(self, params: dict[str, Any], rng: random.Random) -> None:
        super().__init__(params, rng)
        self.paths = [f"/fhir/{rtype}/{rid}" for rtype, rid in params["keys"]]

    def next_request(self) -> Request | None:
        return Request("read", "GET", self.rng.choice(self.paths))


def make_source(params: dict[str, Any], rng: random.Random) -> ReadSource:
    return ReadSource(params, rng)
