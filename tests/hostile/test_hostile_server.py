"""The hostile mix through a real server process: every request is answered (no dropped
connection), none with a 5xx, each within the time bound, and the server's memory stays
within `MEMORY_GROWTH_MB` over the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from hostilekit import EXAMPLES, SEEDS, check, dumps, fuzzed_database, hostile, json_values
from hypothesis import given
from hypothesis import strategies as st
from test_hostile_bundles import bundles
from test_hostile_headers import authorizations, headers
from test_hostile_search import pairs

from fixtures.databases import migrate
from fixtures.server_process import ServerProcess

MEMORY_GROWTH_MB = 64
Request = tuple[str, str, dict[str, str], bytes | None]
FHIR_JSON = {"Content-Type": "application/fhir+json"}

requests = st.one_of(
    st.builds(lambda body: ("POST", "/Patient", FHIR_JSON, dumps(body)), json_values),
    st.builds(lambda body: ("PUT", "/Observation/o1", FHIR_JSON, dumps(body)), json_values),
    st.builds(lambda bundle: ("POST", "", FHIR_JSON, dumps(bundle)), bundles),
    st.builds(lambda query: ("GET", f"/Observation?{urlencode(query)}", {}, None), pairs),
    st.builds(
        lambda extra: ("PUT", "/Patient/p1", {**FHIR_JSON, **extra}, orjson.dumps(SEEDS[0])),
        headers,
    ),
    st.builds(
        lambda authorization: ("GET", "/Patient/p1", {"Authorization": authorization}, None),
        authorizations,
    ),
)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def hostile_server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    url = fuzzed_database(database_url)
    migrate(url)
    server = ServerProcess(url, tmp_path / "data").start()
    yield server
    server.stop()


def test_hostile_mix_through_a_server_process(hostile_server: ServerProcess) -> None:
    server = hostile_server
    base = server.base_url
    token = server.headers()
    with httpx.Client(timeout=30) as http:
        for seed in SEEDS:
            url = f"{base}/{seed['resourceType']}/{seed['id']}"
            assert http.put(url, content=orjson.dumps(seed), headers={**FHIR_JSON, **token})
        assert server.process is not None
        before = _rss_mb(server.process.pid)

        @hostile
        @given(request=requests)
        def send(request: Request) -> None:
            method, path, extra, body = request
            sent: dict[str, Any] = {**token, **extra}
            check(lambda: http.request(method, f"{base}{path}", headers=sent, content=body))

        send()
        growth = _rss_mb(server.process.pid) - before
    assert server.process.poll() is None, "the server died"
    assert growth < MEMORY_GROWTH_MB, f"the server grew by {growth:.0f} MB over {EXAMPLES} requests"
