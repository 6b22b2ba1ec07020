"""Shared test data for the R4 validation tests.

The data directory comes from `SAMHANDLING_SHARED_DATA` (default `/work/shared/data`). Tests that
need it are skipped only when that directory is absent; a present directory with a missing data
set is a failure, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

SYNTHEA_PATIENT_BUNDLES = 20


def shared_data_root() -> Path | None:
    """The shared data directory, or None when it does not exist."""
    root = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))
    return root if root.is_dir() else None


def _r4_examples(root: Path) -> list[Path]:
    return sorted((root / "fhir-test-cases/r4/examples").glob("*.json"))


def _ips_examples(root: Path) -> list[Path]:
    return sorted(root.joinpath("ips").glob("Bundle-*.json")) + sorted(
        root.joinpath("ips/examples").glob("*.json")
    )


def _no_basis_resources(root: Path) -> list[Path]:
    return sorted(root.joinpath("no-basis/json").rglob("*.json"))


def _synthea_bundles(root: Path) -> list[Path]:
    files = sorted(root.joinpath("synthea").glob("*.json.bz2"))
    info = [p for p in files if p.name.startswith("0-")]
    patients = [p for p in files if not p.name.startswith("0-")]
    return info + patients[:SYNTHEA_PATIENT_BUNDLES]


DATA_SETS: dict[str, Callable[[Path], list[Path]]] = {
    "r4_example_path": _r4_examples,
    "ips_example_path": _ips_examples,
    "no_basis_path": _no_basis_resources,
    "synthea_bundle_path": _synthea_bundles,
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the `*_path` arguments above with one file per test."""
    for argument, finder in DATA_SETS.items():
        if argument not in metafunc.fixturenames:
            continue
        root = shared_data_root()
        if root is None:
            skip = pytest.mark.skip(reason="shared data directory is absent")
            metafunc.parametrize(argument, [pytest.param(None, marks=skip)], ids=["no-data"])
            continue
        paths = finder(root)
        assert paths, f"no files for {argument} under {root}"
        ids = [str(p.relative_to(root)) for p in paths]
        metafunc.parametrize(argument, paths, ids=ids)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data directory (skips the test when it is absent)."""
    root = shared_data_root()
    if root is None:
        pytest.skip("shared data directory is absent")
    return root
