"""Transaction-bundle ingest: Synthea patient Bundles POSTed to the base URL, each once.

Throughput is counted in resources (Bundle entries) per second. The requests carry
`Prefer: return=minimal`, as a bulk loader would: the response Bundle then holds the status
and location of every entry but not the resources again.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from bench import synthea
from bench.workloads.base import JSON_HEADERS, Prepared, Request, SimpleSource

HEADERS = {**JSON_HEADERS, "Prefer": "return=minimal"}


def prepare(files: list[Path], *, lazy: bool = False) -> Prepared:
    """The Bundle files to send, in order.

    The generator reads them all before the clock starts, or, with `lazy` (for preloading
    more data than fits in memory), each one just before it is sent.
    """
    return Prepared({"files": [str(p) for p in files], "lazy": lazy}, {"bundles": len(files)})


class IngestSource(SimpleSource):
    def __init__(self, params: dict[str, Any], rng: random.Random) -> None:
        super().__init__(params, rng)
        self.files = [Path(p) for p in params["files"]]
        self.lazy = bool(params.get("lazy"))
        self.bodies = [] if self.lazy else [synthea.read_bytes(p) for p in self.files]
        self.counts = [] if self.lazy else [synthea.entry_count(b) for b in self.bodies]
        self.position = 0
        self.repeat = bool(params.get("repeat"))  # cycle through the files (profiling runs)

    def next_request(self) -> Request | None:
        if self.position >= len(self.files):
            if not self.repeat:
                return None
            self.position = 0
        i = self.position
        self.position += 1
        if self.lazy:
            body = synthea.read_bytes(self.files[i])
            return Request(
                "transaction", "POST", "/fhir", body, HEADERS, units=synthea.entry_count(body)
            )
        return Request(
            "transaction", "POST", "/fhir", self.bodies[i], HEADERS, units=self.counts[i]
        )


def make_source(params: dict[str, Any], rng: random.Random) -> IngestSource:
    return IngestSource(params, rng)
