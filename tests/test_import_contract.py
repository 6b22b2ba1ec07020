"""The import contract (pyproject.toml, `[tool.importlinter]`) holds, and it bites.

The real tree must pass `lint-imports`; a copy of the package with one deliberate breach
of each contract must fail it, naming the contract. The check runs the real command in a
subprocess on a copy of the sources, so nothing here imports the package under test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"

# (module of the copy, source appended to it or written as a new module, contract broken)
BREACHES = [
    (
        "api/breach.py",
        "from samhandling.store.reader import read_current\n",
        "The API reaches the store only through the interactions",
    ),
    (
        "services/breach.py",
        "from samhandling.store.schema import resource\n",
        "Services reach the store only through its named queries",
    ),
    (
        "services/breach.py",
        "from sqlalchemy import select\n",
        "Services reach the store only through its named queries",
    ),
    (
        "auth/policy.py",
        "\nimport httpx\n",
        "The access policy does no I/O",
    ),
    (
        "api/breach.py",
        "from samhandling.store.schema import resource\n",
        "The API, the web views and the command line do not touch tables",
    ),
    (
        "cli/breach.py",
        "from samhandling.audit.storage.tables import audit_event\n",
        "The API, the web views and the command line do not touch tables",
    ),
    (
        "fhir/breach.py",
        "import samhandling.search\n",
        "The FHIR model imports nothing above it",
    ),
    (
        "store/breach.py",
        "import samhandling.interactions\n",
        "The store imports only the FHIR model, identity claims and the guard",
    ),
    (
        "search/breach.py",
        "import samhandling.interactions.crud\n",
        "Layers point one way",
    ),
    (
        "profiles/breach.py",
        "import samhandling.interactions.crud\n",
        "The knowledge packages sit below the interactions",
    ),
    (
        "definitions/breach.py",
        "from samhandling.store.database import write_connection\n",
        "The shipped definitions are package data: they know no store",
    ),
    (
        "web/breach.py",
        "from samhandling.store.reader import read_current\n",
        "The web views reach the store only through the interactions",
    ),
    (
        "web/breach.py",
        "import samhandling.api.rest\n",
        "Layers point one way",
    ),
    (
        "api/breach.py",
        "import samhandling.web.views\n",
        "Layers point one way",
    ),
    (
        "web/breach.py",
        "from samhandling.store.schema import resource\n",
        "The API, the web views and the command line do not touch tables",
    ),
    (
        "observability/breach.py",
        "import samhandling.api.app\n",
        "No import loops between packages",
    ),
]


def lint_imports(source_root: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `lint-imports` with the project's contract on the package under `source_root`."""
    env = {**os.environ, "PYTHONPATH": str(source_root)}
    return subprocess.run(
        [sys.executable, "-c", LINT, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_of_package(tmp_path: Path) -> Path:
    """The Python sources of the package, copied (data files left out)."""
    source_root = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "samhandling",
        source_root / "samhandling",
        ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.json.gz"),
    )
    return source_root


def test_the_real_tree_keeps_the_contract(tmp_path: Path) -> None:
    result = lint_imports(ROOT / "src", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "source", "contract"), BREACHES)
def test_a_deliberate_breach_fails_the_check(
    tmp_path: Path, module: str, source: str, contract: str
) -> None:
    source_root = copy_of_package(tmp_path)
    path = source_root / "samhandling" / module
    path.write_text((path.read_text() if path.exists() else "") + source)
    result = lint_imports(source_root, tmp_path)
    assert result.returncode != 0, result.stdout
    assert f"{contract} BROKEN" in result.stdout
