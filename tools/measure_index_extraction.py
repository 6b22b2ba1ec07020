"""Measure index-value extraction speed on Synthea bundles (mean µs per resource).

Loads a few Synthea transaction bundles, rewrites their ``urn:uuid`` references to
``Type/id`` (as the server does before indexing), warms the per-type plans up, then times
``extract_index_values`` over every resource several times and prints the mean per resource,
overall and per resource type. Not a unit test: timings depend on the machine.

Usage::

    python tools/measure_index_extraction.py [--bundles 5] [--repeat 3] [--fhirpath]
"""

from __future__ import annotations

import argparse
import bz2
import gc
import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from samhandling.fhir.compartment import patient_compartment_ids
from samhandling.fhir.indexing.values import IndexExtractor
from samhandling.fhir.search_parameters import default_registry

DATA = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))


def _rewrite(node: Any, mapping: dict[str, str]) -> None:
    if isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str) and reference in mapping:
            node["reference"] = mapping[reference]
        for value in node.values():
            _rewrite(value, mapping)
    elif isinstance(node, list):
        for value in node:
            _rewrite(value, mapping)


def load_bundle(path: Path) -> list[dict[str, Any]]:
    """The resources of a Synthea bundle with urn:uuid references made relative."""
    with bz2.open(path, "rt", encoding="utf-8") as handle:
        bundle = json.load(handle)
    entries = [e for e in bundle.get("entry", []) if "resource" in e]
    mapping = {
        e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in entries
        if "fullUrl" in e and "id" in e["resource"]
    }
    resources = [e["resource"] for e in entries]
    _rewrite(resources, mapping)
    return resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=5, help="patient bundles to load")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fhirpath", action="store_true", help="time the fhirpathpy oracle")
    args = parser.parse_args()

    paths = sorted(p for p in (DATA / "synthea").glob("*.json.bz2") if not p.name.startswith("0-"))
    # a spread of small and large patients, deterministic
    chosen = paths[:: max(1, len(paths) // args.bundles)][: args.bundles]
    resources = [r for path in chosen for r in load_bundle(path)]
    extractor = IndexExtractor(default_registry(), fast_path=not args.fhirpath)
    for resource in resources:  # warm-up: compiles the per-type plans
        extractor.extract(resource)

    gc.collect()
    gc.freeze()  # the loaded bundles are long-lived: keep them out of the collections
    per_type: dict[str, list[float]] = defaultdict(list)
    rounds = [_round(extractor, resources, per_type) for _ in range(args.repeat)]
    rows = sum(sum(1 for _ in extractor.extract(r).rows()) for r in resources) / len(resources)
    t0 = time.process_time()
    for resource in resources:
        patient_compartment_ids(resource)
    compartment = (time.process_time() - t0) / len(resources) * 1e6

    mode = "fhirpathpy only" if args.fhirpath else "fast path"
    wall = [w for w, _ in rounds]
    cpu = [c for _, c in rounds]
    print(f"{len(chosen)} bundles, {len(resources)} resources, {args.repeat} rounds ({mode})")
    print(
        f"extract_index_values: mean {sum(wall) / len(wall):.1f} µs/resource wall, "
        f"{sum(cpu) / len(cpu):.1f} µs CPU (best round {min(cpu):.1f} µs CPU); "
        f"{rows:.1f} rows/resource"
    )
    print(f"patient_compartment_ids without a precomputed index: {compartment:.1f} µs CPU")
    print("mean wall-clock µs per resource type:")
    for name, times in sorted(per_type.items(), key=lambda kv: -len(kv[1])):
        mean = sum(times) / len(times) * 1e6
        print(f"  {name:<26} n={len(times) // args.repeat:>6}  {mean:8.1f} µs")


def _round(
    extractor: IndexExtractor,
    resources: list[dict[str, Any]],
    per_type: dict[str, list[float]],
) -> tuple[float, float]:
    """Mean wall-clock and CPU µs per resource over one pass; collects per-type times."""
    cpu = time.process_time()
    total = 0.0
    for resource in resources:
        t0 = time.perf_counter()
        extractor.extract(resource)
        elapsed = time.perf_counter() - t0
        per_type[resource["resourceType"]].append(elapsed)
        total += elapsed
    count = len(resources)
    return total / count * 1e6, (time.process_time() - cpu) / count * 1e6


if __name__ == "__main__":
    main()
