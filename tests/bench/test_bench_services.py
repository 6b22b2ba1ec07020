"""The services' benchmark workloads (medication list, lab results, measurement ingest) end
to end on a tiny demo population: `bench.population` seeds a SQLite database (every citizen
with a list), then `bench.run quick --database` drives them through a real server process.
Checks the shape of the result and that nothing failed; never the speed.

The medication-list workload's guarded update counts a refusal (409/412) as an error of
its own kind, never as a success: checked on the request source directly."""

from __future__ import annotations

import importlib
import json
import random
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import orjson
import pytest

REPO = Path(__file__).resolve().parents[2]


def _bench(module: str) -> ModuleType:
    """A module of the harness (bench/ at the repository root, on the test path)."""
    return importlib.import_module(f"bench.{module}")


@pytest.mark.timeout(240)
def test_service_workloads_end_to_end(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'demo.db'}"
    seeded = subprocess.run(
        [
            *(sys.executable, "-m", "bench.population", "--patients", "25", "--jobs", "1"),
            *("--for-all", "medication-list", "--for-all", "lab-results"),
            *("--database", database),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr[-4000:]
    population = json.loads(seeded.stdout)
    assert population["by_type"]["List"] == 25  # every citizen has a list, none of the personas

    output = tmp_path / "result.json"
    command = [
        *(sys.executable, "-m", "bench.run", "quick", "--no-pin", "--database", database),
        *("--workloads", "medication-list,lab-results,measurements", "--max-requests", "24"),
        *("--duration", "10", "--output", str(output)),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stderr[-4000:]

    result = json.loads(output.read_text())
    assert result["engine"] == "sqlite"
    for name, ops in (
        ("medication-list", {"read", "update"}),
        ("lab-results", {"lastn", "trend"}),
        ("measurements", {"ingest"}),
    ):
        workload = result["workloads"][name]
        assert workload["errors"] == 0, (name, workload["error_samples"])
        assert set(workload["by_op"]) == ops, (name, workload["by_op"].keys())
        assert all(workload["by_op"][op]["requests"] > 0 for op in ops)
        assert {"p50", "p99"} <= workload["latency_ms"].keys()
    ingest = result["workloads"]["measurements"]
    assert ingest["units"] == 100 * ingest["requests"]  # every entry created (201)
    targets = {t["id"]: t for t in result["targets"]}
    for target in (
        "medication-list_p50:read",
        "medication-list_p50:update",
        "lab-results_p50:trend",
    ):
        assert targets[target]["value"] is not None, target


def _document(version: int) -> bytes:
    entry = {
        "resourceType": "MedicationStatement",
        "id": "e1",
        "status": "active",
        "dosage": [{"text": "1 tablett daglig"}],
    }
    listing = {"resourceType": "List", "id": "pll-p1", "meta": {"versionId": str(version)}}
    return orjson.dumps({"entry": [{"resource": listing}, {"resource": entry}]})


def test_guarded_update_is_based_on_the_read_and_a_refusal_is_no_success() -> None:
    response = _bench("http_client").Response
    params = {"patients": ["p1"], "update_share": 1.0}
    source = _bench("workloads.medication_list").make_source(params, random.Random(1))
    read = source.next_request()
    assert read is not None and read.context == "p1" and read.method == "GET"
    assert source.on_response(read, response(200, {}, _document(7))) is None

    update = source.next_request()
    assert update is not None and update.op == "update" and update.body is not None
    body = orjson.loads(update.body)
    assert body["parameter"][0] == {"name": "basedOn", "valueInteger": 7}
    changed = body["parameter"][1]["resource"]
    assert changed["dosage"][0]["text"] == "1 tablett daglig (justert)"
    assert changed["extension"][0]["url"].endswith("pll-change-reason")

    # while its update is in flight the patient is out of the pool: plain reads only
    assert source.next_request().context is None  # type: ignore[union-attr]
    refused = source.on_response(update, response(412, {}, b"{}"))
    assert refused is not None and "stale" in refused and "412" in refused
    assert source.on_response(update, response(409, {}, b"{}")) is not None
