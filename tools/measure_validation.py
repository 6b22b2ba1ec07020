"""Measure `validate_resource` speed: mean microseconds per resource over Synthea bundles.

Every entry.resource of the first N patient bundles (sorted by file name) is validated R times.
The first round (cold: nothing cached yet) and the best round (least disturbed by other load) are
reported. Parsing is not timed.

Usage: python tools/measure_validation.py [--bundles N] [--rounds R] [--data DIR]
"""

from __future__ import annotations

import argparse
import bz2
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from samhandling.fhir.validation import validate_resource


def load_resources(synthea: Path, bundles: int) -> list[dict[str, Any]]:
    """The entry resources of the first `bundles` patient bundles."""
    files = sorted(p for p in synthea.glob("*.json.bz2") if not p.name.startswith("0-"))
    resources: list[dict[str, Any]] = []
    for path in files[:bundles]:
        with bz2.open(path, "rt", encoding="utf-8") as fh:
            bundle = json.load(fh)
        resources.extend(entry["resource"] for entry in bundle["entry"])
    return resources


def one_round(resources: list[dict[str, Any]]) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, error count) for validating every resource once.

    CPU time (time.process_time) is the headline number: it is far less disturbed by other
    processes on a shared machine than wall time.
    """
    errors = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for resource in resources:
        errors += sum(1 for i in validate_resource(resource) if i.severity == "error")
    return time.process_time() - cpu, time.perf_counter() - wall, errors


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))
    parser.add_argument("--data", type=Path, default=shared / "synthea")
    parser.add_argument("--bundles", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    resources = load_resources(args.data, args.bundles)
    validate_resource(resources[0])  # load the model outside the timing
    rounds = [one_round(resources) for _ in range(args.rounds)]
    kinds = Counter(r["resourceType"] for r in resources)
    per = 1e6 / len(resources)
    print(f"{len(resources)} resources from {args.bundles} bundles ({len(kinds)} types)")
    for label, (cpu, wall, errors) in (("first round", rounds[0]), ("best round", min(rounds))):
        print(
            f"{label}: mean {cpu * per:.1f} µs CPU per resource "
            f"({wall * per:.1f} µs wall), errors: {errors}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
