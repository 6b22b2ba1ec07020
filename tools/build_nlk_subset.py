"""Write the bundled NLK CodeSystem (a fragment) from the national code list's CSV export.

    python tools/build_nlk_subset.py NLK.csv   # → src/samhandling/terminology/code_systems/nlk.json

Norsk laboratoriekodeverk (NLK, Volven 7280) has some 11,400 codes; the platform bundles the
analyses a GP or a hospital orders most (`CODES` below: blood count, electrolytes, kidney,
liver, lipids, glucose and HbA1c, thyroid, inflammation, heart) and checks every other code
for structure only (`NPU` or `NOR` and five digits; see docs/TERMINOLOGY.md). The source is
the Directorate's published list, version 7280.77, in the CSV export of
github.com/rockphotog/nlk-test (file
`nlk-test/resources/csv_output/norsk_laboratoriekodeverk_7280.77-clean_processing.csv`,
commit 445745c): each concept's display is the Norwegian usage name (`norsk_bruksnavn`),
its definition the NPU definition, and its unit a property. Only codes still valid
(no `gyldig_til`) are taken; the script refuses a code the list lacks or has retired.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src/samhandling/terminology/code_systems/nlk.json"
URL = "http://ehelse.no/fhir/CodeSystem/no-kodeverk-7280-nlk"
OID = "urn:oid:2.16.578.1.12.4.1.1.7280"
VERSION = "7280.77"

CODES = [
    *("NOR05172", "NPU02593", "NPU03568", "NPU01960", "NPU01961", "NPU01944", "NPU19763"),
    *("NPU03429", "NPU03230", "NPU01443", "NPU02647"),  # electrolytes
    *("NPU18016", "NPU04998", "NPU01807"),  # creatinine
    *("NPU19651", "NPU19654", "NPU27783", "NPU20194", "NPU19652"),  # liver, pancreas
    *("NPU01566", "NPU01568", "NPU01567", "NPU04094"),  # lipids
    *("NPU02192", "NPU27300", "NPU29296"),  # glucose, HbA1c
    *("NPU03577", "NPU27547"),  # TSH
    *("NPU19748", "NPU03404", "NPU19673", "NPU23745"),  # CRP, ESR, albumin, cystatin C
    *("NPU19924", "NPU21571", "NPU01685", "NPU02070"),  # troponin T, NT-proBNP, INR, folate
]


def concept(row: dict[str, str]) -> dict[str, Any]:
    """One CodeSystem concept from a row of the list."""
    item: dict[str, Any] = {"code": row["kode"], "display": row["norsk_bruksnavn"]}
    if row["kodedefinisjon"]:
        item["definition"] = row["kodedefinisjon"].replace("<sup>", "").replace("</sup>", "")
    if row["enhet"]:
        item["property"] = [{"code": "unit", "valueString": row["enhet"]}]
    return item


def build(source: Path) -> dict[str, Any]:
    """The CodeSystem resource for `CODES`, read from the list's CSV export."""
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = {r["kode"]: r for r in csv.DictReader(handle) if not r["gyldig_til"]}
    missing = [code for code in CODES if code not in rows]
    if missing:
        raise SystemExit(f"not valid codes of NLK {VERSION}: {', '.join(missing)}")
    return {
        "resourceType": "CodeSystem",
        "id": "nlk-subset",
        "url": URL,
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": OID}],
        "version": VERSION,
        "name": "NorskLaboratoriekodeverkSubset",
        "title": "Norsk laboratoriekodeverk (NLK, 7280), subset",
        "status": "active",
        "experimental": False,
        "publisher": "Helsedirektoratet",
        "description": (
            f"The analyses ordered most often, from Norsk laboratoriekodeverk {VERSION}: "
            "display is the Norwegian usage name, definition the NPU definition. Other NLK "
            "codes are checked for structure only (NPU or NOR and five digits). NPU codes "
            "are owned by IFCC and IUPAC; NLK is maintained by the Norwegian Directorate of "
            "Health."
        ),
        "jurisdiction": [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "NO"}]}],
        "caseSensitive": True,
        "content": "fragment",
        "count": len(CODES),
        "property": [{"code": "unit", "description": "The unit of results", "type": "string"}],
        "concept": [concept(rows[code]) for code in CODES],
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    OUT.write_text(json.dumps(build(Path(sys.argv[1])), ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(REPO)}")
