"""The proof of issue #25 on real data: a `$export` of Synthea is complete (the count per
type equals the store's), every line is a valid R4 resource, and an import of the files
into an empty database gives the same counts; de-identified, no patient's name, SSN or
birth date survives.

A sample keeps it within CI's time: the six smallest patient bundles and, of Synthea's
shared organisations, locations and practitioners, those they reference (≈1,000
resources of about 20 types)."""

from __future__ import annotations

import bz2
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from fixtures.bulk_export import ASYNC, Store
from fixtures.shared_data import shared_data_dir
from samhandling.cli.import_command import import_bundles
from samhandling.config import Settings
from samhandling.fhir.validation import validate_resource
from samhandling.services.bulk_export.directory_export import export_to_directory
from samhandling.store.database import make_engine

BASE = "http://testserver/fhir"
CONDITIONAL = re.compile(r'"reference": *"([A-Za-z]+)\?identifier=([^"]+)"')
SMALL_STORE = Counter(Patient=3, Observation=6, Organization=1)  # the `store` fixture's


def _sample(folder: Path) -> list[Path]:
    """The six smallest patient bundles, after a batch (`0-shared.json` in `folder`) of
    the shared entries they reference (`Type?identifier=system|value`)."""
    synthea = shared_data_dir() / "synthea"
    patients = sorted(synthea.glob("[!0]*.json.bz2"), key=lambda p: (p.stat().st_size, p.name))
    chosen = patients[:6]
    referenced: set[tuple[str, str]] = set()
    for path in chosen:
        referenced.update(CONDITIONAL.findall(bz2.decompress(path.read_bytes()).decode()))
    entries = [
        entry
        for path in sorted(synthea.glob("0-*.json.bz2"))
        for entry in orjson.loads(bz2.decompress(path.read_bytes()))["entry"]
        if any(
            (entry["resource"]["resourceType"], f"{i.get('system')}|{i.get('value')}") in referenced
            for i in entry["resource"].get("identifier", [])
        )
    ]
    folder.mkdir(parents=True, exist_ok=True)
    shared = folder / "0-shared.json"
    shared.write_bytes(orjson.dumps({"resourceType": "Bundle", "type": "batch", "entry": entries}))
    return [shared, *chosen]


def _bundle_resources(files: list[Path]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in files:
        raw = path.read_bytes()
        bundle = orjson.loads(bz2.decompress(raw) if path.suffix == ".bz2" else raw)
        found.extend(entry["resource"] for entry in bundle["entry"])
    return found


def _export(store: Store, folder: Path, headers: dict[str, str], **params: str) -> Counter[str]:
    """Run a system `$export`; its files copied into `folder`; the count per type."""
    answer = store.client.get("/fhir/$export", params=params, headers={**headers, **ASYNC})
    assert answer.status_code == 202, answer.text
    assert store.worker().run_once()
    manifest = store.client.get(answer.headers["Content-Location"], headers=headers).json()
    folder.mkdir()
    counts: Counter[str] = Counter()
    for entry in manifest["output"]:
        content = store.client.get(entry["url"], headers=headers).content
        (folder / entry["url"].rsplit("/", 1)[1]).write_bytes(content)
        counts[entry["type"]] += entry["count"]
    return counts


def _stored(store: Store, types: list[str]) -> Counter[str]:
    """The store's count per type, as the search API counts it."""
    counts: Counter[str] = Counter()
    for resource_type in types:
        answer = store.client.get(f"/fhir/{resource_type}", params={"_summary": "count"})
        counts[resource_type] = answer.json()["total"]
    return counts


@pytest.mark.slow
def test_a_synthea_export_is_complete_valid_imports_the_same_and_deidentifies(
    store: Store, database_url: str, empty_url: str, tmp_path: Path
) -> None:
    files = _sample(tmp_path / "sample")
    assert len(files) == 7
    source = Settings(data_dir=tmp_path / "import", database_url=database_url, base_url=BASE)
    import_bundles(source, files)
    expected = Counter(r["resourceType"] for r in _bundle_resources(files)) + SMALL_STORE
    counts = _export(store, tmp_path / "out", {})
    assert counts == expected == _stored(store, sorted(expected))
    for path in sorted((tmp_path / "out").iterdir()):
        for line in path.read_bytes().splitlines():
            resource = orjson.loads(line)
            errors = [i for i in validate_resource(resource) if i.severity in ("error", "fatal")]
            assert not errors, (path.name, resource.get("id"), errors[:3])
    target = Settings(data_dir=tmp_path / "target", database_url=empty_url, base_url=BASE)
    assert import_bundles(target, [tmp_path / "out"]) == expected
    engine = make_engine(empty_url)
    try:
        assert export_to_directory(engine, tmp_path / "again") == expected
    finally:
        engine.dispose()
    _deidentified_export_keeps_no_name_ssn_or_birth_date(store, files, tmp_path)


def _deidentified_export_keeps_no_name_ssn_or_birth_date(
    store: Store, files: list[Path], tmp_path: Path
) -> None:
    patients = [r for r in _bundle_resources(files) if r["resourceType"] == "Patient"]
    config = {"projects": {"synthea": {"clients": ["forskning-app"]}}}
    (store.data_dir / "research-projects.json").write_text(json.dumps(config))
    research = store.headers(client_id="forskning-app")
    counts = _export(store, tmp_path / "deid", research, _deidentify="synthea")
    assert counts["Patient"] == len(patients) + 3
    text = "\n".join(p.read_text() for p in (tmp_path / "deid").iterdir())
    names = {
        part
        for p in patients
        for name in p.get("name", [])
        for part in [name.get("family"), *name.get("given", []), *name.get("prefix", [])]
        if part and len(part) > 3
    }
    assert not [n for n in names if re.search(rf"\b{re.escape(n)}\b", text)]
    identifiers = {i["value"] for p in patients for i in p.get("identifier", [])}
    assert identifiers and not [i for i in identifiers if i in text]
    # Birth dates: each Patient keeps its birth year only. (Anywhere else a shifted date of
    # some resource may equal some patient's birth date by chance: not a leak.)
    patient_text = (tmp_path / "deid" / "Patient.ndjson").read_text()
    exported = [json.loads(line) for line in patient_text.splitlines() if line.strip()]
    assert all(len(p.get("birthDate", "0000")) == 4 for p in exported)
    assert not [p["birthDate"] for p in patients if p["birthDate"] in patient_text]
    assert not re.search(r"\b\d{3}-\d{2}-\d{4}\b", text)  # no social security number
