"""Build the packaged search-parameter and Patient-compartment definitions.

Reads the official FHIR R4 (4.0.1) definitions from the shared data folder and writes two
compact gzip JSON files that the package reads at run time (the package never reads the
shared data folder itself):

* ``src/samhandling/fhir/definitions/r4-search-parameters.json.gz``
* ``src/samhandling/fhir/definitions/r4-patient-compartment.json.gz``

Besides copying the fields the server needs, the build

* fixes the known defect of ``DocumentReference-relationship``: the official file maps the
  ``relatesto`` component to the expression ``code`` and ``relation`` to ``target``; the
  expressions are swapped back so that ``relatesto`` (a reference) reads ``target`` and
  ``relation`` (a token) reads ``code``;
* records, per token parameter and base resource type, the code system of plain ``code``
  elements that have a *required* binding to a value set drawn from exactly one code system
  (``Observation.status`` -> ``http://hl7.org/fhir/observation-status``), so that index rows
  for bare codes carry their implicit system;
* lists the 146 concrete R4 resource types (without the R4B ``SubscriptionStatus``).

Usage::

    python tools/build_search_definitions.py [--data /work/shared/data]
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "src" / "samhandling" / "fhir" / "definitions"
DEFAULT_DATA = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))

RELATIONSHIP_FIX = {
    "http://hl7.org/fhir/SearchParameter/DocumentReference-relatesto": "target",
    "http://hl7.org/fhir/SearchParameter/DocumentReference-relation": "code",
}


def _load_json(path: Path) -> Any:
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _resources(bundle: dict[str, Any], resource_type: str) -> Iterator[dict[str, Any]]:
    for entry in bundle.get("entry", []):
        resource = entry.get("resource", {})
        if resource.get("resourceType") == resource_type:
            yield resource


# --- required bindings of `code` elements ----------------------------------------------


class ElementIndex:
    """Snapshot elements of all resource and datatype StructureDefinitions, by path."""

    def __init__(self, structure_definitions: list[dict[str, Any]]) -> None:
        self.elements: dict[str, dict[str, Any]] = {}
        self.kinds: dict[str, str] = {}
        for sd in structure_definitions:
            self.kinds[sd["id"]] = sd["kind"]
            for element in sd.get("snapshot", {}).get("element", []):
                self.elements.setdefault(element["path"], element)

    def resolve(self, root: str, steps: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
        """Elements reached from type ``root`` by (name, type filter) steps; [] if unknown."""
        current = [root]  # element path prefixes reached so far
        found: list[dict[str, Any]] = []
        for position, (name, type_filter) in enumerate(steps):
            last = position == len(steps) - 1
            following: list[str] = []
            for prefix in current:
                element = self._element(prefix, name)
                if element is None:
                    continue
                if "contentReference" in element:
                    following.append(element["contentReference"].lstrip("#"))
                    continue
                for type_code in [t.get("code", "") for t in element.get("type", [])]:
                    if type_filter and type_code.lower() != type_filter.lower():
                        continue
                    if last:
                        found.append({**element, "_type": type_code})
                    elif type_code in ("BackboneElement", "Element"):
                        following.append(element["path"])
                    else:
                        following.append(type_code)
            current = following
        return found

    def _element(self, prefix: str, name: str) -> dict[str, Any] | None:
        for candidate in (f"{prefix}.{name}", f"{prefix}.{name}[x]"):
            if candidate in self.elements:
                return self.elements[candidate]
        return None


def _value_set_systems(bundles: list[dict[str, Any]]) -> dict[str, str]:
    """ValueSet url -> its only code system, for value sets drawn from exactly one."""
    systems: dict[str, str] = {}
    for bundle in bundles:
        for value_set in _resources(bundle, "ValueSet"):
            includes = value_set.get("compose", {}).get("include", [])
            found = {inc.get("system") for inc in includes}
            if (
                len(found) == 1
                and None not in found
                and not any("valueSet" in inc or "filter" in inc for inc in includes)
            ):
                systems[value_set["url"]] = next(iter(found))
    return systems


_AS_PAREN = re.compile(r"^\((.+) as (\w+)\)$")
_AS_TAIL = re.compile(r"^(.+) as (\w+)$")
_FILTER_FN = re.compile(r"\.(?:as|ofType)\((\w+)\)")


def _simple_steps(part: str) -> tuple[str, list[tuple[str, str | None]]] | None:
    """(root, steps) for a union part that is a plain path with type filters, else None."""
    part = part.strip()
    tail_filter = None
    for pattern in (_AS_PAREN, _AS_TAIL):
        match = pattern.match(part)
        if match:
            part, tail_filter = match.group(1).strip(), match.group(2)
            break
    part = re.sub(r"\.where\([^()]*(?:\([^()]*\)[^()]*)*\)", "", part)
    part = part.replace(".first()", "")
    steps: list[tuple[str, str | None]] = []
    for piece in part.split("."):
        if not piece:
            return None
        match = re.fullmatch(r"(?:as|ofType)\((\w+)\)", piece)
        if match and steps:
            steps[-1] = (steps[-1][0], match.group(1))
        elif re.fullmatch(r"\w+", piece):
            steps.append((piece, None))
        else:
            return None
    if tail_filter and steps:
        steps[-1] = (steps[-1][0], tail_filter)
    if len(steps) < 2:
        return None
    return steps[0][0], steps[1:]


def _split_union(expression: str) -> list[str]:
    parts, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(expression):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == "|":
            parts.append(expression[start:i])
            start = i + 1
    parts.append(expression[start:])
    return [p.strip() for p in parts if p.strip()]


def _code_systems(
    param: dict[str, Any], elements: ElementIndex, vs_systems: dict[str, str]
) -> dict[str, str]:
    """Resource type -> implicit code system of the bare `code` values this param reads."""
    if param["type"] != "token" or not param.get("expression"):
        return {}
    per_type: dict[str, set[str | None]] = {}
    for part in _split_union(param["expression"]):
        parsed = _simple_steps(part)
        if parsed is None:
            continue
        root, steps = parsed
        bases = param["base"] if root in ("Resource", "DomainResource") else [root]
        for base in bases:
            for element in elements.resolve(base, steps):
                if element["_type"] != "code":
                    continue
                binding = element.get("binding", {})
                system = None
                if binding.get("strength") == "required":
                    system = vs_systems.get(binding.get("valueSet", "").split("|")[0])
                per_type.setdefault(base, set()).add(system)
    found: dict[str, str] = {}
    for base, systems in sorted(per_type.items()):
        only = next(iter(systems)) if len(systems) == 1 else None
        if only is not None:
            found[base] = only
    return found


# --- output --------------------------------------------------------------------------


def _parameter(
    resource: dict[str, Any], elements: ElementIndex, vs_systems: dict[str, str]
) -> dict[str, Any]:
    components = [
        [c["definition"], RELATIONSHIP_FIX.get(c["definition"], c["expression"])]
        if resource["id"] == "DocumentReference-relationship"
        else [c["definition"], c["expression"]]
        for c in resource.get("component", [])
    ]
    out: dict[str, Any] = {
        "id": resource["id"],
        "url": resource["url"],
        "name": resource["name"],
        "code": resource["code"],
        "base": resource["base"],
        "type": resource["type"],
        "expression": resource.get("expression"),
        "description": resource.get("description", ""),
    }
    optional = {
        "target": resource.get("target"),
        "component": components,
        "modifier": resource.get("modifier"),
        "comparator": resource.get("comparator"),
        "multipleOr": resource.get("multipleOr"),
        "multipleAnd": resource.get("multipleAnd"),
        "xpathUsage": None if resource.get("xpathUsage") == "normal" else resource["xpathUsage"],
        "codeSystems": _code_systems(resource, elements, vs_systems),
    }
    out.update({k: v for k, v in optional.items() if v not in (None, [], {})})
    return out


def _search_definitions(r4: Path) -> dict[str, Any]:
    sds = [
        sd
        for name in ("profiles-resources.json.bz2", "profiles-types.json")
        for sd in _resources(_load_json(r4 / name), "StructureDefinition")
        if sd.get("fhirVersion", "4.0.1") == "4.0.1"  # drops the R4B SubscriptionStatus
    ]
    elements = ElementIndex(sds)
    vs_systems = _value_set_systems(
        [_load_json(r4 / name) for name in ("valuesets.json", "v3-codesystems.json")]
    )
    source = _load_json(r4 / "search-parameters.json")
    return {
        "fhirVersion": "4.0.1",
        "source": "FHIR R4 4.0.1 search-parameters.json (official, CC0)",
        "resourceTypes": sorted(
            sd["id"] for sd in sds if sd["kind"] == "resource" and not sd.get("abstract")
        ),
        "parameters": [
            _parameter(sp, elements, vs_systems) for sp in _resources(source, "SearchParameter")
        ],
    }


def _compartment_definition(r4: Path) -> dict[str, Any]:
    definition = _load_json(r4 / "compartmentdefinition-patient.json")
    return {
        "url": definition["url"],
        "code": definition["code"],
        "resources": {r["code"]: r.get("param", []) for r in definition["resource"]},
    }


def build(data: Path, out_dir: Path) -> tuple[Path, Path]:
    """Write both files from the shared data folder ``data`` into ``out_dir``."""
    r4 = data / "fhir-r4"
    out_dir.mkdir(parents=True, exist_ok=True)
    search_path = out_dir / "r4-search-parameters.json.gz"
    compartment_path = out_dir / "r4-patient-compartment.json.gz"
    for path, payload in (
        (search_path, _search_definitions(r4)),
        (compartment_path, _compartment_definition(r4)),
    ):
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        # mtime=0 keeps the checked-in bytes stable across rebuilds
        path.write_bytes(gzip.compress(raw.encode("utf-8"), compresslevel=9, mtime=0))
    return search_path, compartment_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    for path in build(args.data, args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
