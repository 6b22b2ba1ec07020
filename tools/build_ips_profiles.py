"""Copy the IPS 1.1.0 profiles the patient summary claims into the package, as differentials.

    python tools/build_ips_profiles.py   # → src/samhandling/profiles/definitions/ips/*.json

From the official package `hl7.fhir.uv.ips` 1.1.0 (CC0-1.0) in `<shared data>/ips/profiles`:
only the profiles of what the summary holds, and of each only what the checker reads (the
differential, without its prose and mappings; no snapshot, no narrative): ~120 kB instead of
~4 MB. The package never reads `../shared` at run time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data")) / "ips" / "profiles"
OUT = ROOT / "src" / "samhandling" / "profiles" / "definitions" / "ips"
PROFILES = (
    "Bundle", "Composition", "Patient", "AllergyIntolerance", "Condition",
    "MedicationStatement", "Medication", "Observation-results", "DiagnosticReport",
    "Immunization", "Procedure", "Device", "DeviceUseStatement", "Organization",
    "Practitioner", "abatement-dateTime",
)  # fmt: skip
KEPT = ("resourceType", "id", "url", "version", "name", "title", "status", "date",
        "publisher", "description", "fhirVersion", "kind", "abstract", "type",
        "baseDefinition", "derivation", "context")  # fmt: skip
DROPPED_FROM_ELEMENTS = ("definition", "comment", "requirements", "mapping", "alias")


def stripped(definition: dict[str, Any]) -> dict[str, Any]:
    """The profile with its differential only, each element without prose."""
    elements = [
        {k: v for k, v in element.items() if k not in DROPPED_FROM_ELEMENTS}
        for element in definition["differential"]["element"]
    ]
    kept = {key: definition[key] for key in KEPT if key in definition}
    return {**kept, "differential": {"element": elements}}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in PROFILES:
        source = SOURCE / f"StructureDefinition-{name}-uv-ips.json"
        definition = stripped(json.loads(source.read_text()))
        target = OUT / f"{definition['id']}.json"
        target.write_text(json.dumps(definition, indent=1, ensure_ascii=False) + "\n")
        print(f"{target.relative_to(ROOT)}: {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
