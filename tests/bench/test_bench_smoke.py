"""The benchmark harness end to end on a tiny workload: a real server process on SQLite, the
load generator in its own process, both ceilings. Checks the shape of the JSON result, that
every workload did something and that nothing failed. It never asserts on speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKLOADS = ("ingest", "read", "search", "create", "crud")


@pytest.mark.timeout(180)
def test_quick_run_end_to_end(tmp_path: Path) -> None:
    shared = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))
    if not (shared / "synthea").is_dir():
        pytest.skip(f"Synthea test data not found under {shared}")
    output = tmp_path / "result.json"
    command = [
        *(sys.executable, "-m", "bench.run", "quick", "--engine", "sqlite", "--no-pin"),
        *("--max-requests", "30", "--duration", "10", "--output", str(output)),
        *("--phases", "audit"),  # the phase probe in the server (bench/phases.py)
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stderr[-4000:]

    result = json.loads(output.read_text())
    for key in ("run_id", "commit", "date", "engine", "machine", "pinning", "server", "clients"):
        assert key in result, key
    assert result["engine"] == "sqlite"
    assert {"nproc", "cpu_model", "memory_gb"} <= result["machine"].keys()

    for name in WORKLOADS:
        workload = result["workloads"][name]
        assert workload["errors"] == 0, (name, workload["error_samples"])
        assert workload["ok"] > 0 and workload["throughput_rps"] > 0, name
        assert {"p50", "p95", "p99"} <= workload["latency_ms"].keys(), name
        assert {"server_cpu_seconds", "server_peak_rss_mb"} <= workload["resources"].keys()
        assert workload["generator"]["cpu_seconds"] >= 0
    assert result["workloads"]["ingest"]["units_per_s"] > 0
    # each read's audit row built once, its stored form with it, their thread CPU counted
    phases = {row["phase"]: row for row in result["workloads"]["read"]["phases"]}
    assert phases["event_row"]["calls_per_unit"] == 1.0
    assert phases["stored_content"]["calls_per_unit"] == 1.0
    assert phases["event_row"]["us_per_unit"] >= phases["stored_content"]["us_per_unit"] > 0
    assert result["workloads"]["crud"]["by_op"]["read"]["requests"] > 0

    ceilings = result["ceilings"]
    assert ceilings["read"]["errors"] == 0 and ceilings["read"]["throughput_rps"] > 0
    for key in ("write_bundle", "write_single"):
        assert ceilings[key]["errors"] == 0, ceilings[key]["error_samples"]
        assert ceilings[key]["resources_per_s"] > 0 and ceilings[key]["rows"] > 0

    for ratio in ("read_vs_bare", "ingest_vs_driver", "create_vs_driver"):
        assert result["ratios"][ratio] > 0, ratio
    assert {t["id"] for t in result["targets"]} >= {"crud_throughput", "ingest_rate"}
