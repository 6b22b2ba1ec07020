"""`samhandling export` writes NDJSON that `samhandling import` loads into an empty
database with the same count per type (a move between instances)."""

from __future__ import annotations

from pathlib import Path

from fixtures.bulk_export import Store
from samhandling.cli.export_command import export_store
from samhandling.cli.import_command import import_bundles
from samhandling.config import Settings
from samhandling.interactions.published_definitions import publish
from samhandling.services import platform_of
from samhandling.services.bulk_export.directory_export import export_to_directory
from samhandling.store.database import make_engine

BASE = "http://testserver/fhir"


def test_an_export_imports_into_an_empty_database_with_the_same_counts(
    store: Store, database_url: str, empty_url: str, tmp_path: Path
) -> None:
    source = Settings(data_dir=tmp_path, database_url=database_url, base_url=BASE)
    counts = export_store(source, tmp_path / "out", None)
    assert counts == {"Observation": 6, "Organization": 1, "Patient": 3}
    target = Settings(data_dir=tmp_path / "target", database_url=empty_url, base_url=BASE)
    imported = import_bundles(target, [tmp_path / "out"])
    assert dict(imported) == counts
    engine = make_engine(empty_url)
    try:
        again = export_to_directory(engine, tmp_path / "again")
    finally:
        engine.dispose()
    assert again == counts
    for name in ("Patient.ndjson", "Observation.ndjson"):  # same ids, same references
        before = (tmp_path / "out" / name).read_bytes().count(b"Patient/")
        assert (tmp_path / "again" / name).read_bytes().count(b"Patient/") == before


def test_a_server_s_export_with_its_shipped_definitions_imports_the_same(
    store: Store, database_url: str, empty_url: str, tmp_path: Path
) -> None:
    """Found by the proof on the whole Synthea set (tools/export_proof.py): a real server
    publishes the shipped definitions into its store, so its export holds them, and their
    copies were refused by the target (405, read-only): the import failed."""
    source = Settings(data_dir=tmp_path, database_url=database_url, base_url=BASE)
    engine = make_engine(database_url)
    try:
        assert publish(engine, platform_of(source.services).shipped_definitions()) > 0
        counts = export_to_directory(engine, tmp_path / "out")
    finally:
        engine.dispose()
    assert counts["StructureDefinition"] > 0 and counts["OperationDefinition"] > 0
    target = Settings(data_dir=tmp_path / "target", database_url=empty_url, base_url=BASE)
    imported = import_bundles(target, [tmp_path / "out"])
    assert dict(imported) == {"Observation": 6, "Organization": 1, "Patient": 3}
    engine = make_engine(empty_url)
    try:
        assert export_to_directory(engine, tmp_path / "again") == counts
    finally:
        engine.dispose()
