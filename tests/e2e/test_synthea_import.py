"""All 122 Synthea bundles load; the store holds exactly the resources of the bundles."""

from __future__ import annotations

import bz2
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from fixtures.shared_data import shared_data_dir
from samhandling.cli.import_command import import_bundles
from samhandling.config import Settings
from samhandling.store.database import make_engine
from samhandling.store.schema import resource


def synthea_dir() -> Path:
    return shared_data_dir() / "synthea"


def expected_counts(files: list[Path]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in files:
        bundle = orjson.loads(bz2.decompress(path.read_bytes()))
        counts.update(e["resource"]["resourceType"] for e in bundle["entry"])
    return counts


def stored_counts(database_url: str) -> Counter[str]:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(resource.c.resource_type, func.count())
            .where(resource.c.deleted.is_(False))
            .group_by(resource.c.resource_type)
        ).all()
    engine.dispose()
    return Counter({rtype: count for rtype, count in rows})


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_all_synthea_bundles_load(database_url: str, tmp_path: Path) -> None:
    files = sorted(synthea_dir().glob("*.json.bz2"))
    assert len(files) == 122
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, base_url="http://localhost/fhir"
    )
    imported = import_bundles(settings, files)
    expected = expected_counts(files)
    assert sum(expected.values()) == 92_114
    assert stored_counts(database_url) == expected
    assert imported == expected


def test_import_command_line(tmp_path: Path) -> None:
    folder = synthea_dir()
    files = [*sorted(folder.glob("0-*.json.bz2")), sorted(folder.glob("[!0]*.json.bz2"))[0]]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "samhandling.cli", "import", "--database", url, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = expected_counts(files)
    assert f"imported {sum(expected.values())} resources from {len(files)} files" in result.stdout
    assert stored_counts(url) == expected
