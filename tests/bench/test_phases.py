"""The phase probe of the benchmark harness (bench/phases.py, bench/phase_probe_install.py):
what it counts in a process, and how the harness turns two snapshots into a report."""

from __future__ import annotations

import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import phase_probe_install, phases


@pytest.fixture
def probed_modules() -> Iterator[tuple[types.ModuleType, types.ModuleType]]:
    """A module of functions to probe, and another that imported one of them by name
    (both named as the server's modules are, which the probe looks through)."""
    owner = types.ModuleType("samhandling_probe_example")
    source = """
def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
    return "spun"

class Writer:
    def write(self, n):
        return n + 1

    @staticmethod
    def prepare(n):
        return n * 2
"""
    exec(source, {"time": time, "__name__": owner.__name__}, owner.__dict__)
    user = types.ModuleType("samhandling_probe_user")
    user.spin = owner.spin  # type: ignore[attr-defined]  # `from … import spin`
    sys.modules[owner.__name__], sys.modules[user.__name__] = owner, user
    yield owner, user
    for module in (owner, user):
        del sys.modules[module.__name__]
    for target in list(phase_probe_install._counts):
        if target.startswith("samhandling_probe_"):
            del phase_probe_install._counts[target]


def test_the_probe_counts_calls_and_their_thread_cpu(
    probed_modules: tuple[types.ModuleType, types.ModuleType],
) -> None:
    owner, user = probed_modules
    for target in ("spin", "Writer.write", "Writer.prepare"):
        phase_probe_install.wrap(f"{owner.__name__}:{target}")
    assert user.spin(0.02) == "spun"  # the imported name is the probed function now
    owner.spin(0.01)
    assert owner.Writer().write(1) == 2
    assert owner.Writer.prepare(3) == 6 and owner.Writer().prepare(4) == 8  # still static
    counts = phase_probe_install._counts
    calls, cpu = counts[f"{owner.__name__}:spin"]
    assert calls == 2 and 0.03 <= cpu < 0.5  # CPU the calls ran, not more
    assert counts[f"{owner.__name__}:Writer.write"][0] == 1
    assert counts[f"{owner.__name__}:Writer.prepare"][0] == 2


def test_a_coroutine_is_refused(probed_modules: tuple[types.ModuleType, ...]) -> None:
    owner = probed_modules[0]
    exec("async def answer():\n    return 1\n", owner.__dict__)
    with pytest.raises(ValueError, match="coroutine"):
        phase_probe_install.wrap(f"{owner.__name__}:answer")


def test_the_report_is_the_difference_per_unit_call_largest_first() -> None:
    unit, parse, chunk = phases.PHASE_SETS["bundle"][:3]
    before = {"counts": {unit: [10, 1.0], parse: [10, 0.1]}}
    after = {"counts": {unit: [14, 1.4], parse: [14, 0.14], chunk: [400, 0.2]}}
    rows = phases.per_unit("bundle", before, after)
    assert rows[0] == {"phase": "process_bundle", "calls_per_unit": 1.0, "us_per_unit": 100_000.0}
    assert rows[1] == {"phase": "_Chunk.run", "calls_per_unit": 100.0, "us_per_unit": 50_000.0}
    by_phase = {row["phase"]: row for row in rows}
    assert by_phase["parse"]["us_per_unit"] == pytest.approx(10_000.0)
    assert by_phase["AnsweredCriteria.search_first"]["calls_per_unit"] == 0  # never called
    assert phases.per_unit("bundle", after, after) == []  # no unit call: nothing to report


def test_the_server_env_puts_the_probe_first_and_names_the_set(tmp_path: Path) -> None:
    env = phases.server_env("audit", tmp_path / "phases.json")
    assert env["PYTHONPATH"] == str(phases.PROBE_DIR)
    assert env["BENCH_PHASES"].split(",") == list(phases.PHASE_SETS["audit"])
    with pytest.raises(ValueError, match="unknown phase set"):
        phases.server_env("everything", tmp_path / "phases.json")
    assert phases.snapshot(tmp_path / "missing.json") == {}
