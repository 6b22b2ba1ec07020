"""The interleaved old-vs-new comparison (`python -m bench.run compare`): the code each server
runs, and how rounds become the result (the end-to-end run takes minutes: not here)."""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path

compare = importlib.import_module("bench.compare")
REPO = Path(__file__).resolve().parents[2]


def _run(throughput: dict[str, float], cpu: dict[str, float]) -> dict[str, object]:
    return {
        mode: {
            "requests": int(throughput[mode] * 10),
            "errors": 0,
            "throughput_rps": throughput[mode],
            "latency_ms": {"p99": 10.0},
            "server_cpu_ms_per_request": cpu[mode],
            "load_average": [2.0, 2.0, 2.0],
        }
        for mode in ("old", "new")
    }


def test_the_result_is_the_median_of_the_rounds_ratios() -> None:
    rounds = []
    for number, (old, new) in enumerate([(100, 150), (100, 120), (200, 100)]):
        pair = _run({"old": old, "new": new}, {"old": 2.0, "new": 1.5})
        rounds.append({"round": number + 1, "workloads": {"read": {**pair, "ratio": new / old}}})
    summary = compare.summarise(rounds, ["read"])["read"]
    assert summary["median_ratio"] == 1.2
    assert (summary["lowest_ratio"], summary["highest_ratio"]) == (0.5, 1.5)
    assert summary["total_ratio"] == round(370 / 400, 3)
    assert summary["median_server_cpu_ms_per_request"] == {"old": 2.0, "new": 1.5}


def test_each_server_runs_the_code_of_its_commit(tmp_path: Path) -> None:
    head = compare.resolve("HEAD")
    source = compare.extract_source(head, tmp_path)
    shipped = subprocess.run(
        ["git", "show", f"{head}:src/samhandling/store/database.py"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    assert source == tmp_path / "src"
    assert (source / "samhandling" / "store" / "database.py").read_text() == shipped


def test_the_update_workload_sends_only_puts_of_changed_narratives() -> None:
    import random

    import orjson

    crud = importlib.import_module("bench.workloads.crud")
    stored = {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "1"}}
    params = {
        "mix": crud.UPDATE_ONLY,
        "records": {"Patient": [["p1", orjson.dumps(stored).decode()]]},
        "deletable": {"Patient": []},
    }
    source = crud.make_source(params, random.Random(1))
    requests = [source.next_request() for _ in range(20)]
    assert {(r.op, r.method, r.path) for r in requests if r} == {
        ("update", "PUT", "/fhir/Patient/p1")
    }
    divs = {orjson.loads(r.body)["text"]["div"] for r in requests if r}
    assert len(divs) == 20  # each PUT changes the narrative: a new version every time
