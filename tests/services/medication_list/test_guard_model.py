"""The medication list's guard, model-checked with spin (models/medication_list_guard.pml).

Skipped when spin or a C compiler is missing, unless SAMHANDLING_REQUIRE_SPIN=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

MODEL = Path(__file__).parents[3] / "models" / "medication_list_guard.pml"
CLAIMS = ("no_lost_entry", "paused_takes_no_foreign_write")


@pytest.fixture(scope="module")
def tools() -> tuple[str, str]:
    spin, cc = shutil.which("spin"), shutil.which("gcc") or shutil.which("cc")
    if spin is None or cc is None:
        if os.environ.get("SAMHANDLING_REQUIRE_SPIN") == "1":
            pytest.fail("spin and a C compiler are required (SAMHANDLING_REQUIRE_SPIN=1)")
        pytest.skip("spin or a C compiler is not installed")
    return spin, cc


def _check(tools: tuple[str, str], where: Path, claim: str, *defines: str) -> str:
    spin, cc = tools
    flags = [f"-D{d}" for d in defines]
    subprocess.run([spin, "-a", *flags, str(MODEL)], cwd=where, check=True, capture_output=True)
    subprocess.run(
        [cc, "-w", "-O1", "-DSAFETY", "-o", "pan", "pan.c"], cwd=where, check=True, timeout=300
    )
    found = subprocess.run(
        ["./pan", "-N", claim], cwd=where, capture_output=True, text=True, timeout=600
    )
    assert "max search depth too small" not in found.stdout
    return found.stdout


@pytest.mark.parametrize("prescribers", [2, 3])
@pytest.mark.parametrize("claim", CLAIMS)
def test_the_guard_keeps_its_claims(
    tools: tuple[str, str], tmp_path: Path, prescribers: int, claim: str
) -> None:
    output = _check(tools, tmp_path, claim, f"N={prescribers}")
    assert "errors: 0" in output, output


@pytest.mark.parametrize(
    ("broken", "claim"),
    [
        ("BROKEN_NO_VERSION_CHECK", "no_lost_entry"),
        ("BROKEN_NO_PAUSE_CHECK", "paused_takes_no_foreign_write"),
    ],
)
def test_a_broken_guard_is_caught(
    tools: tuple[str, str], tmp_path: Path, broken: str, claim: str
) -> None:
    output = _check(tools, tmp_path, claim, "N=2", broken)
    assert "errors: 1" in output, output
