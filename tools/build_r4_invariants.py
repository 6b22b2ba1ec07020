"""Generate the catalogue of R4 (4.0.1) invariants used by `samhandling.fhir.invariants`.

Reads the core StructureDefinitions in `<shared data>/fhir-r4/` (as `build_r4_definitions.py`
does, from their differentials: the official R4 content) and writes
`src/samhandling/fhir/definitions/r4-invariants.json.gz`: for every element path that
declares constraints (a type such as `Reference` or `DomainResource`, a backbone element
such as `Patient.contact`, or an element such as `Narrative.div`; a constrained type such as
`MoneyQuantity` under its own name, not its base type's), its constraints as
`[key, severity, human, expression]`. Which of them are skipped, and why, is decided at run
time (`samhandling.fhir.invariants.catalogue.SKIPPED`), not here.

Usage: python tools/build_r4_invariants.py [--data DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from pathlib import Path

from build_r4_definitions import load_structure_definitions

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src/samhandling/fhir/definitions/r4-invariants.json.gz"


def invariants(data: Path) -> dict[str, list[list[str]]]:
    """Element path → its constraints, from every core StructureDefinition's differential."""
    found: dict[str, list[list[str]]] = {}
    for definition in load_structure_definitions(data).values():
        for element in definition["differential"]["element"]:
            path = element["path"]
            if definition.get("derivation") == "constraint":  # SimpleQuantity, MoneyQuantity…
                path = definition["id"] + path.removeprefix(definition["type"])
            for constraint in element.get("constraint", []):
                entry = [
                    constraint["key"],
                    constraint["severity"],
                    constraint.get("human", ""),
                    constraint["expression"],
                ]
                listed = found.setdefault(path, [])
                if entry not in listed:
                    listed.append(entry)
    return dict(sorted(found.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))
    parser.add_argument("--data", type=Path, default=shared / "fhir-r4")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    catalogue = {"fhirVersion": "4.0.1", "invariants": invariants(args.data)}
    raw = json.dumps(catalogue, separators=(",", ":"), sort_keys=True).encode()
    args.out.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    count = sum(len(v) for v in catalogue["invariants"].values())
    print(f"{args.out}: {count} constraints on {len(catalogue['invariants'])} paths")


if __name__ == "__main__":
    main()
