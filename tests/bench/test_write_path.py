"""`bench.write_path`: measurement Bundles through `process_bundle` in process, on a real
PostgreSQL database, as a system under the platform's rules; checked by what it writes and
audits, never by the speed; and its instruction count, by callgrind (valgrind)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fixtures.databases import (
    create_postgres_database,
    drop_postgres_database,
    migrate,
    scalar_count,
)


def _tool() -> ModuleType:
    return importlib.import_module("bench.write_path")


@pytest.fixture
def scratch(postgres_database_url: str) -> Iterator[str]:
    """An empty, migrated PostgreSQL database."""
    url = create_postgres_database("write_path")
    migrate(url)
    try:
        yield url
    finally:
        drop_postgres_database(url)


def test_measurement_bundles_are_written_judged_and_audited(scratch: str) -> None:
    result = _tool().measure(scratch, "measurements", bundles=2, warm_up=1)
    assert result["entries"] == 200 and result["us_per_entry"] > 0
    # the citizens it made (an empty database), then 3 Bundles of 100 vital signs
    patients = "SELECT count(*) FROM resource WHERE resource_type = 'Patient'"
    assert scalar_count(scratch, patients) == 20
    observations = "SELECT count(*) FROM resource WHERE resource_type = 'Observation'"
    assert scalar_count(scratch, observations) == 300
    # every created Observation has its index rows and its audit record
    assert scalar_count(scratch, "SELECT count(*) FROM index_date WHERE param = 'date'") == 300
    audited = "SELECT count(*) FROM audit_event WHERE interaction = 'create'"
    assert scalar_count(scratch, audited) == 320  # the 20 citizens' and the 300 measurements'


def test_the_measured_bundles_run_inside_the_counted_function(
    scratch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Callgrind counts only inside `itertools.accumulate`'s C function: every measured
    Bundle must run there, and no warm-up Bundle."""
    tool = _tool()
    inside: list[bool] = []
    real_accumulate = tool.itertools.accumulate
    depth = [0]
    import samhandling.interactions.bundle as bundle

    real_process = bundle.process_bundle

    def process(*args: object, **kwargs: object) -> object:
        inside.append(depth[0] > 0)
        return real_process(*args, **kwargs)

    def accumulate(iterable: object, func: Any, **kwargs: object) -> Iterator[Any]:
        def counted(total: Any, body: Any) -> Any:
            depth[0] += 1
            try:
                return func(total, body)
            finally:
                depth[0] -= 1

        return real_accumulate(iterable, counted, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(bundle, "process_bundle", process)
    monkeypatch.setattr(tool.itertools, "accumulate", accumulate)
    result = tool.measure(scratch, "measurements", bundles=2, warm_up=1)
    assert result["entries"] == 200
    # the citizens' transaction and the warm-up Bundle outside, the two measured inside
    assert inside == [False, False, True, True]


def _callgrind_count(inside: int, outside: int, profile: str | None = None) -> int:
    """Instructions callgrind counts in a Python that sums `inside` times within
    `itertools.accumulate` and `outside` times beside it."""
    tool = _tool()
    program = (
        "import itertools\n"
        "work = lambda total, _: total + sum(range(20000))\n"
        f"[work(0, 0) for _ in range({outside})]\n"
        f"list(itertools.accumulate(range({inside}), work, initial=0))\n"
    )
    command = tool.callgrind_command([sys.executable, "-c", program], profile)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return int(tool.collected_instructions(done.stderr))


def test_callgrind_counts_the_work_inside_the_counted_function_only() -> None:
    once, thrice = _callgrind_count(1, 0), _callgrind_count(3, 0)
    assert 2.8 < thrice / once < 3.2
    assert 0.95 < _callgrind_count(1, 30) / once < 1.05  # thirty times as much beside it


def test_a_kept_profile_holds_the_count_by_function(tmp_path: Path) -> None:
    """`--profile`: callgrind's profile kept, its total the count reported, and the
    summing done inside the counted function found in it by name."""
    profile = tmp_path / "callgrind.out"
    count = _callgrind_count(2, 5, str(profile))
    text = profile.read_text()
    totals = [int(line.split()[1]) for line in text.splitlines() if line.startswith("totals:")]
    assert totals == [count]
    assert _tool().COUNTED in text


def test_the_count_is_read_from_callgrinds_report() -> None:
    report = "==12770== Events    : Ir\n==12770== Collected : 16461291\n==12770== \n"
    assert _tool().collected_instructions(report) == 16461291
    with pytest.raises(RuntimeError):
        _tool().collected_instructions("==1== I   refs: 12\n")
