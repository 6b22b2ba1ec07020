"""The document-sharing benchmark's seeding and workload on a tiny SQLite population:
`bench.document_patients` gives chosen citizens many documents the registry accepts, and
the workload finds exactly them and checks that each first page is full. Never the speed."""

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
    return importlib.import_module(f"bench.{module}")


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=150
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


@pytest.mark.timeout(300)
def test_seeded_patients_have_their_documents_and_the_workload_finds_them(
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path / 'docs.db'}"
    _run("bench.population", "--patients", "12", "--jobs", "1", "--for-all", "document-sharing",
         "--database", database)  # fmt: skip
    seed = ("bench.document_patients", "--patients", "2", "--documents", "6")
    seeded = json.loads(_run(*seed, "--database", database))
    assert len(seeded["patients"]) == 2 and seeded["resources"] == 2 * 2 * 6
    again = json.loads(_run(*seed, "--database", database))
    assert again["resources"] == 0  # a second run adds nothing

    from samhandling.store.database import make_engine

    engine = make_engine(database)
    try:
        prepared = _bench("workloads.document_sharing").prepare(engine, minimum=7)
    finally:
        engine.dispose()
    assert sorted(p for p, _fnr in prepared.params["patients"]) == seeded["patients"]
    assert all(len(fnr) == 11 for _p, fnr in prepared.params["patients"])


def test_the_source_asks_both_ways_and_checks_the_total() -> None:
    response = _bench("http_client").Response
    params = {"patients": [["p1", "05858540072"]], "minimum": 200}
    source = _bench("workloads.document_sharing").make_source(params, random.Random(3))
    requests = [source.next_request() for _ in range(20)]
    paths = {r.op: r.path for r in requests if r is not None}
    assert paths["by_patient"] == "/fhir/DocumentReference?patient=p1"
    assert paths["by_identifier"] == (
        "/fhir/DocumentReference?patient.identifier="
        "urn%3Aoid%3A2.16.578.1.12.4.1.4.1%7C05858540072&status=current"
    )
    request = requests[0]
    assert request is not None
    match = {"search": {"mode": "match"}}
    page = {"link": [{"relation": "next", "url": "x"}], "entry": [match] * 50}
    assert source.on_response(request, response(200, {}, orjson.dumps(page))) is None
    last = {"link": [], "entry": [match] * 50}
    assert "no next page" in str(source.on_response(request, response(200, {}, orjson.dumps(last))))
    short = {**page, "entry": [match] * 3}
    assert "3 matches" in str(source.on_response(request, response(200, {}, orjson.dumps(short))))
    assert source.on_response(request, response(403, {}, b"{}")) == "HTTP 403"
