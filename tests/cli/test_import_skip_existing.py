"""Re-importing: POST entries create again unless --skip-existing (both databases)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import typer

from fixtures.fhir_app import make_client
from samhandling.cli.import_command import import_bundles
from samhandling.config import Settings

BASE = "http://testserver/fhir"


def transaction(family: str) -> dict[str, Any]:
    patient_url = "urn:uuid:7a1f0000-0000-4000-8000-000000000001"
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_url,
                "resource": {"resourceType": "Patient", "name": [{"family": family}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "puls"},
                    "subject": {"reference": patient_url},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }


def write(path: Path, bundle: dict[str, Any]) -> Path:
    path.write_bytes(orjson.dumps(bundle))
    return path


def stored(database_url: str, tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    with make_client(database_url, tmp_path / "client") as client:
        found = {}
        for rtype in ("Patient", "Observation"):
            bundle = client.get(f"/fhir/{rtype}?_count=50").json()
            found[rtype] = [e["resource"] for e in bundle.get("entry", [])]
        return found


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, base_url=BASE)


def test_a_plain_reimport_creates_twins(settings: Settings, tmp_path: Path) -> None:
    first = write(tmp_path / "a.json", transaction("Aas"))
    import_bundles(settings, [first])
    import_bundles(settings, [first])
    assert len(stored(settings.database_url, tmp_path)["Patient"]) == 2


def test_skip_existing_rerun_of_an_interrupted_import(settings: Settings, tmp_path: Path) -> None:
    first = write(tmp_path / "a.json", transaction("Aas"))
    second = write(tmp_path / "b.json", transaction("Berg"))
    import_bundles(settings, [first], skip_existing=True)  # "interrupted" after the first file
    counts = import_bundles(settings, [first, second], skip_existing=True)
    assert counts == {"Patient": 1, "Observation": 1}  # only b.json's entries are new
    found = stored(settings.database_url, tmp_path)
    assert sorted(p["name"][0]["family"] for p in found["Patient"]) == ["Aas", "Berg"]
    patient_ids = {p["id"] for p in found["Patient"]}
    subjects = {o["subject"]["reference"] for o in found["Observation"]}
    assert len(found["Observation"]) == 2
    assert subjects == {f"Patient/{pid}" for pid in patient_ids}


def test_a_file_that_is_not_json_fails_without_a_traceback(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(typer.Exit) as exited:
        import_bundles(settings, [broken])
    assert exited.value.exit_code == 1
    assert "broken.json: not imported" in capsys.readouterr().err
