"""`samhandling import --bulk [--jobs N]`: an export of the demo population imports into an
empty database as the plain import does (same ids, content and references); a chunk that
names a stored id, or holds a bad resource, is refused whole and named."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from fixtures.databases import create_postgres_database, drop_postgres_database, migrate
from samhandling.cli import bulk_import
from samhandling.cli.import_command import import_bundles
from samhandling.cli.import_files import phase_of
from samhandling.cli.main import app
from samhandling.cli.operator_errors import OperatorError
from samhandling.config import Settings
from samhandling.demo import load_bundles, population_bundles
from samhandling.fhir import json_codec
from samhandling.services import default_platform
from samhandling.services.bulk_export.directory_export import export_to_directory
from samhandling.store.database import make_engine, read_connection
from samhandling.store.schema import resource

BASE = "http://testserver/fhir"
Stored = dict[tuple[str, str], dict[str, Any]]


@pytest.fixture
def empty_database(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], str]]:
    """Makes further empty databases on the engine of `database_url`."""
    made: list[str] = []

    def another() -> str:
        if database_url.startswith("sqlite"):
            path = tmp_path / f"other-{len(made)}.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            made.append(f"sqlite:///{path}")
        else:
            made.append(create_postgres_database("bulkimport"))
            migrate(made[-1])
        return made[-1]

    yield another
    for url in made:
        if not url.startswith("sqlite"):
            drop_postgres_database(url)


@pytest.fixture
def exported(database_url: str, tmp_path: Path) -> Path:
    """The demo population (the register, the personas and 12 citizens with the services'
    demo data: documents and their Binaries, a stored document Bundle, lab results, a
    medication list) exported as NDJSON."""
    platform = default_platform()
    engine = make_engine(database_url)
    try:
        bundles = population_bundles(12, 3, hooks=platform.demo_hooks)
        load_bundles(engine, bundles, BASE, rules=platform.write_rules)
        export_to_directory(engine, tmp_path / "export")
    finally:
        engine.dispose()
    return tmp_path / "export"


def settings(url: str, data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url=url, base_url=BASE)


def stored(url: str) -> Stored:
    """Every current resource by type and id, as stored but for `meta.lastUpdated`."""
    engine = make_engine(url)
    try:
        with read_connection(engine) as connection:
            rows = connection.execute(
                select(resource.c.resource_type, resource.c.resource_id, resource.c.content)
            ).all()
    finally:
        engine.dispose()
    found = {}
    for rtype, rid, content in rows:
        body = json_codec.parse(content)
        body["meta"].pop("lastUpdated")
        found[(rtype, rid)] = body
    return found


def ndjson(path: Path, resources: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))
    return path


def patient(pid: str, family: str, gender: str = "female") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "name": [{"family": family}]}


def plain_import_in_order(url: str, exported: Path, data_dir: Path) -> Counter[str]:
    """The plain import of the export in one call (it loads the files phase by phase too:
    a DocumentReference's write rules need its Patient and author Organization first),
    without the stored document Bundles (it processes every Bundle as a request: 400)."""
    files = sorted(p for p in exported.iterdir() if p.name != "Bundle.ndjson")
    return import_bundles(settings(url, data_dir), files)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_bulk_import_stores_what_a_plain_import_stores(
    exported: Path,
    database_url: str,
    empty_database: Callable[[], str],
    tmp_path: Path,
    jobs: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if jobs > 1 and database_url.startswith("sqlite"):
        pytest.skip("--jobs > 1 needs PostgreSQL (tested below)")
    monkeypatch.setattr(bulk_import, "CHUNK_LINES", 20)  # the jobs share several chunks
    plain_url, bulk_url = empty_database(), empty_database()
    plain = plain_import_in_order(plain_url, exported, tmp_path / "a")
    bulk = import_bundles(settings(bulk_url, tmp_path / "b"), [exported], bulk=True, jobs=jobs)
    assert bulk.pop("Bundle") == len((exported / "Bundle.ndjson").read_bytes().splitlines())
    assert bulk == plain
    assert {
        "DocumentReference",
        "Binary",
        "Observation",
        "MedicationStatement",
        "List",
    } <= bulk.keys()
    source, by_plain, by_bulk = stored(database_url), stored(plain_url), stored(bulk_url)
    assert by_bulk.keys() == source.keys()
    documents = {key: body for key, body in by_bulk.items() if key[0] == "Bundle"}
    assert documents == {key: source[key] for key in documents}
    assert {k: b for k, b in by_bulk.items() if k[0] != "Bundle"} == by_plain
    assert {body["meta"]["versionId"] for body in by_bulk.values()} == {"1"}


def test_a_chunk_naming_a_stored_id_is_refused_not_overwritten(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = settings(database_url, tmp_path)
    first = ndjson(tmp_path / "one" / "Patient.ndjson", [patient("p2", "Aas")])
    import_bundles(target, [first], bulk=True)
    again = [patient("p1", "Berg"), patient("p2", "Dahl"), patient("p3", "Eik")]
    with pytest.raises(typer.Exit):
        import_bundles(target, [ndjson(tmp_path / "two" / "Patient.ndjson", again)], bulk=True)
    told = capsys.readouterr().err
    assert "Patient.ndjson lines 1-3: not imported (409)" in told
    assert "Patient/p2 are stored already" in told
    found = stored(database_url)
    assert list(found) == [("Patient", "p2")]  # nothing of the chunk
    assert found["Patient", "p2"]["name"] == [{"family": "Aas"}]
    assert found["Patient", "p2"]["meta"]["versionId"] == "1"


def test_a_bad_resource_refuses_its_chunk_and_only_that(
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk_import, "CHUNK_LINES", 2)
    people = [patient("p1", "Aas"), patient("p2", "Berg")]
    people += [patient("p3", "Dahl"), patient("p4", "Eik", gender="sometimes")]
    path = ndjson(tmp_path / "in" / "Patient.ndjson", people)
    with pytest.raises(typer.Exit):
        import_bundles(settings(database_url, tmp_path), [path], bulk=True)
    told = capsys.readouterr()
    assert "Patient.ndjson lines 3-4: not imported (400)" in told.err
    assert "imported 2 resources from 1 files (1 failed chunks and bundles)" in told.out
    assert sorted(stored(database_url)) == [("Patient", "p1"), ("Patient", "p2")]


def test_the_command_line_takes_bulk_and_jobs(database_url: str, tmp_path: Path) -> None:
    path = ndjson(tmp_path / "in" / "Patient.ndjson", [patient("p1", "Aas")])
    command = ["import", "--bulk", "--jobs", "1", "--database", database_url, str(path)]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "imported 1 resources from 1 files (0 failed chunks and bundles)" in result.output
    assert list(stored(database_url)) == [("Patient", "p1")]


def test_jobs_need_bulk_and_postgresql_for_more_than_one(database_url: str, tmp_path: Path) -> None:
    path = ndjson(tmp_path / "in" / "Patient.ndjson", [patient("p1", "Aas")])
    with pytest.raises(OperatorError, match="--jobs needs --bulk"):
        import_bundles(settings(database_url, tmp_path), [path], jobs=2)
    if database_url.startswith("sqlite"):
        with pytest.raises(OperatorError, match="SQLite has one writer"):
            import_bundles(settings(database_url, tmp_path), [path], bulk=True, jobs=2)
        assert stored(database_url) == {}


def test_the_register_and_document_content_load_first_and_lists_last() -> None:
    names = ["0-hospital.json", "Organization.ndjson", "Patient-2.ndjson", "Binary.ndjson"]
    names += ["DocumentReference.ndjson", "Observation.ndjson", "List.ndjson", "other.ndjson"]
    assert [phase_of(Path(name)) for name in names] == [0, 1, 1, 1, 2, 2, 3, 2]
