"""Reading the files `samhandling import` loads, and importing one Bundle or file.

Importing a file twice imports it twice: a Bundle's POST entries create new resources each
time (that is what POST means). `--skip-existing` makes a re-run of an interrupted import
safe: every POST entry is tagged with its Bundle's content hash and its position
(`meta.tag`, system `IMPORT_TAG_SYSTEM`) and made a conditional create on that tag, so an
entry already imported answers 200 with the existing resource instead of creating a twin,
and references inside the Bundle resolve to it (R4 §3.1.0.11.2 conditional create).
"""

from __future__ import annotations

import bz2
import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import typer
from sqlalchemy import Engine

from samhandling.cli.operator_errors import OperatorError
from samhandling.cli.shipped_copies import ShippedCopies
from samhandling.fhir import json_codec
from samhandling.fhir.outcome import FhirError
from samhandling.interactions.bundle import process_bundle
from samhandling.interactions.write_rules import WriteRule

IMPORT_TAG_SYSTEM = "https://samhandling.no/fhir/CodeSystem/import-entry"


def read_bundles(path: Path) -> Iterator[dict[str, Any]]:
    """The Bundles in a file: one JSON Bundle, bzip2-compressed JSON, or NDJSON of Bundles
    or of other resources (a bulk export's files: stored under their ids, see
    `resources_as_bundles`)."""
    raw = bz2.decompress(path.read_bytes()) if path.suffix == ".bz2" else path.read_bytes()
    if path.name.endswith((".ndjson", ".ndjson.bz2")):
        lines = (json_codec.parse(line) for line in raw.splitlines() if line.strip())
        yield from resources_as_bundles(lines)
    else:
        yield json_codec.parse(raw)


def resources_as_bundles(items: Iterator[Any], size: int = 200) -> Iterator[dict[str, Any]]:
    """Bundles as they are; runs of other resources as transactions of PUTs by id (so the
    references between exported resources stay as they were; POST for one without an id),
    `size` entries each."""
    for run in runs(items, size):
        yield run if isinstance(run, dict) else _transaction([_entry(r) for r in run])


def runs(
    items: Iterable[Any], size: int, *, requests_only: bool = False
) -> Iterator[dict[str, Any] | list[Any]]:
    """Each Bundle alone (with `requests_only`, only a batch or transaction: the others
    are resources like any); the other items in lists of at most `size`, in file order."""
    batch: list[Any] = []
    for item in items:
        if _processed(item, requests_only):
            if batch:
                yield batch
                batch = []
            yield item
            continue
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _processed(item: Any, requests_only: bool) -> bool:
    if not isinstance(item, dict) or item.get("resourceType") != "Bundle":
        return False
    return not requests_only or item.get("type") in ("batch", "transaction")


def _entry(resource: Any) -> dict[str, Any]:
    if isinstance(resource, dict) and resource.get("id"):
        url = f"{resource.get('resourceType')}/{resource['id']}"
        return {"resource": resource, "request": {"method": "PUT", "url": url}}
    return {"resource": resource, "request": {"method": "POST", "url": str(_type_of(resource))}}


def _type_of(resource: Any) -> Any:
    return resource.get("resourceType") if isinstance(resource, dict) else None


def _transaction(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


#: Resources other types' write rules look up (a registry DocumentReference's Patient,
#: author Organization and Binary): their files load before the others.
REGISTER_TYPES = frozenset(
    {"Organization", "Location", "Practitioner", "PractitionerRole", "Patient", "Binary"}
)
#: Lists (Folders, medication lists) name resources of other types: their files load last.
LAST_TYPES = frozenset({"List"})


def phase_of(path: Path) -> int:
    """When a file is loaded: the shared-entity bundles ('0-…'), then the register's and
    the content's files, then other types, then List. A file's type is its name's
    (`Observation.ndjson`, `Observation-2.ndjson`); a file named otherwise is an other type."""
    if path.name.startswith("0-"):
        return 0
    resource_type = path.name.split(".")[0].rsplit("-", 1)[0]
    if resource_type in REGISTER_TYPES:
        return 1
    return 3 if resource_type in LAST_TYPES else 2


def import_order(paths: list[Path]) -> list[Path]:
    """Files in load order (`phase_of`, then by name); directories expanded."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise OperatorError(f"no such file or directory: {', '.join(missing)}")
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.iterdir())
                if p.name.endswith((".json", ".json.bz2", ".ndjson"))
            )
        else:
            files.append(path)
    return sorted(files, key=lambda p: (phase_of(p), p.name))


EXISTING = "\0existing"
SHIPPED = "\0shipped"


class Destination(NamedTuple):
    """Where Bundles are imported: the database, its base URL and the services' write rules."""

    engine: Engine
    base_url: str
    rules: tuple[WriteRule, ...]
    shipped: ShippedCopies


def tag_for_skip_existing(bundle: Any) -> Any:
    """The Bundle with each POST entry tagged and conditional on its tag (see module doc)."""
    if not isinstance(bundle, dict) or not isinstance(bundle.get("entry"), list):
        return bundle
    key = hashlib.sha256(json_codec.dump(bundle)).hexdigest()[:40]
    for index, entry in enumerate(bundle["entry"]):
        request = entry.get("request") if isinstance(entry, dict) else None
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not isinstance(resource, dict):
            continue
        if request.get("method") != "POST" or request.get("ifNoneExist"):
            continue
        code = f"{key}.{index}"
        meta = resource.setdefault("meta", {})
        meta.setdefault("tag", []).append({"system": IMPORT_TAG_SYSTEM, "code": code})
        request["ifNoneExist"] = f"_tag={IMPORT_TAG_SYSTEM}|{code}"
    return bundle


def import_file(target: Destination, path: Path, counts: Counter[str], skip_existing: bool) -> int:
    failures = 0
    try:
        for bundle in read_bundles(path):
            prepared = tag_for_skip_existing(bundle) if skip_existing else bundle
            prepared, skipped = target.shipped.left_out(prepared)
            counts[SHIPPED] += skipped
            if not skipped or prepared["entry"]:
                failures += import_one(target, prepared, counts, path)
    except (OSError, ValueError, FhirError) as exc:  # unreadable, not JSON, not a Bundle
        typer.echo(f"{path.name}: not imported: {exc}", err=True)
        return failures + 1
    return failures


def import_one(
    target: Destination, bundle: dict[str, Any], counts: Counter[str], path: Path
) -> int:
    try:
        response = process_bundle(target.engine, bundle, target.base_url, rules=target.rules)
    except FhirError as exc:
        typer.echo(f"{path.name}: {exc.status} {exc.message}", err=True)
        return 1
    failed = 0
    for request_entry, response_entry in zip(
        bundle.get("entry", []), response["entry"], strict=True
    ):
        status = response_entry.get("response", {}).get("status", "")
        method = request_entry.get("request", {}).get("method")
        if status.startswith("200") and method == "POST":
            counts[EXISTING] += 1
        elif status.startswith(("200", "201")):
            counts[request_entry.get("resource", {}).get("resourceType", "?")] += 1
        else:
            failed = 1
            typer.echo(f"{path.name}: entry failed: {status}", err=True)
    return failed
