"""Rebuild the bundled SNOMED CT CodeSystem (a fragment) from real data.

    python tools/build_snomed_subset.py [--data DIR] [--out FILE]
    # → src/samhandling/terminology/code_systems/snomed-ct.json

Harvests every Coding with system `http://snomed.info/sct` from the Synthea transaction
Bundles (`<shared data>/synthea/*.json.bz2`: Conditions, Procedures, AllergyIntolerances,
Encounter types, CarePlans, Observations' values, devices, ...) and the IPS 1.1.0 examples
(`<shared data>/ips/*.json` and `ips/examples/*.json`). Nothing is invented: each concept
is a code seen in that data, its `display` is the text seen most often with it (ties: the
alphabetically first), and the other texts seen with it become `designation`s. Codes that
break the SNOMED CT structure rules (Verhoeff check digit, concept partition) are left out
and listed on stderr. See docs/TERMINOLOGY.md.
"""

from __future__ import annotations

import argparse
import bz2
import json
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from samhandling.terminology.structure import snomed_problem  # noqa: E402

SNOMED = "http://snomed.info/sct"
DEFAULT_OUT = REPO / "src/samhandling/terminology/code_systems/snomed-ct.json"
DESCRIPTION = (
    "SNOMED CT concepts seen in real test data: the Synthea R4 transaction Bundles "
    "(Synthea v2.7.0, via samply/blaze .github/test-data/synthea) and the HL7 IPS 1.1.0 "
    "examples (via inferno-framework/ips-test-kit). The display is the text seen most often "
    "with the code there; other texts seen with it are designations. Rebuilt by "
    "tools/build_snomed_subset.py. Codes outside this subset are checked against the SNOMED "
    "CT structure only (see docs/TERMINOLOGY.md). SNOMED CT is owned by SNOMED "
    "International; this fragment is no substitute for a licensed release."
)


def data_files(data: Path) -> list[Path]:
    """The input files, in a fixed order."""
    synthea = sorted((data / "synthea").glob("*.json.bz2"))
    ips = sorted((data / "ips").glob("*.json")) + sorted((data / "ips/examples").glob("*.json"))
    return synthea + ips


def read(path: Path) -> Any:
    """One JSON file, bzip2-compressed or not."""
    raw = bz2.decompress(path.read_bytes()) if path.suffix == ".bz2" else path.read_bytes()
    return json.loads(raw)


def codings(node: Any) -> Iterator[tuple[str, str | None]]:
    """(code, display) of every SNOMED CT Coding anywhere in a JSON value."""
    if isinstance(node, dict):
        code = node.get("code")
        if node.get("system") == SNOMED and isinstance(code, str):
            display = node.get("display")
            yield code, display.strip() if isinstance(display, str) else None
        for value in node.values():
            yield from codings(value)
    elif isinstance(node, list):
        for value in node:
            yield from codings(value)


def harvest(files: list[Path]) -> dict[str, Counter[str]]:
    """Every SNOMED CT code seen, with how often each display text was seen with it."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for path in files:
        for code, display in codings(read(path)):
            seen[code].update([display] if display else [])
    return seen


def concept(code: str, texts: Counter[str]) -> dict[str, Any]:
    """A CodeSystem concept: the most frequent text as display, the others as designations."""
    ranked = sorted(texts.items(), key=lambda item: (-item[1], item[0]))
    result: dict[str, Any] = {"code": code}
    if ranked:
        result["display"] = ranked[0][0]
    others = [text for text, _ in ranked[1:]]
    if others:
        result["designation"] = [{"value": text} for text in others]
    return result


def code_system(seen: dict[str, Counter[str]]) -> tuple[dict[str, Any], list[str]]:
    """The CodeSystem resource and the refused codes (with the reason)."""
    refused = [f"{code}: {snomed_problem(code)}" for code in seen if snomed_problem(code)]
    kept = sorted((c for c in seen if snomed_problem(c) is None and seen[c]), key=int)
    resource = {
        "resourceType": "CodeSystem",
        "id": "snomed-ct-subset",
        "url": SNOMED,
        "name": "SnomedCtSubset",
        "title": "SNOMED CT, concepts seen in the platform's test data",
        "status": "active",
        "experimental": False,
        "publisher": "SNOMED International (content); samhandling (selection)",
        "description": DESCRIPTION,
        "caseSensitive": True,
        "content": "fragment",
        "concept": [concept(code, seen[code]) for code in kept],
    }
    return resource, sorted(refused)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))
    parser.add_argument("--data", type=Path, default=shared)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    files = data_files(args.data)
    if not files:
        print(f"no Synthea or IPS data under {args.data}", file=sys.stderr)
        return 1
    resource, refused = code_system(harvest(files))
    for line in refused:
        print(f"left out {line}", file=sys.stderr)
    text = json.dumps(resource, ensure_ascii=False, indent=1) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {len(resource['concept'])} concepts from {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
