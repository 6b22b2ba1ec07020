"""`samhandling export` writes NDJSON that `samhandling import` loads into an empty
database with the same count per type (a move between instances)."""

from __future__ import annotations

from pathlib import Path

from fixtures.bulk_export import Store
from samhandling.cli.export_command import export_store
from samhandling.cli.import_command import import_bundles
from samhandling.config import Settings
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
