"""A service added by writing only its own module (`screening_results.py`) and one
registration line (`--service screening_results:SERVICE`), working end to end through a
real server process: its write rule, its access rule and its operation (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures.critical_information import CITIZEN
from fixtures.server_process import ServerProcess

HERE = Path(__file__).parent
FHIR_JSON = {"Content-Type": "application/fhir+json"}
SCREENING = "urn:example:screening"


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(
        database_url,
        tmp_path / "data",
        services=("screening_results:SERVICE",),  # the one registration line
        import_path=HERE,
    ).start()
    yield process
    process.stop()


def _result(issued: datetime | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": SCREENING, "code": "colon", "display": "Colon"}]},
        "subject": {"reference": f"Patient/{CITIZEN}"},
        "valueString": "no findings",
    }
    if issued is not None:
        result["issued"] = issued.isoformat(timespec="seconds")
    return result


def _summary(client: httpx.Client, headers: dict[str, str]) -> int:
    response = client.get(f"/Patient/{CITIZEN}/$screening-summary", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["parameter"][0]["valueInteger"])


def test_an_example_service_works_end_to_end(server: ServerProcess) -> None:
    now = datetime.now(UTC)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        server.load_personas(client)
        gp, citizen = {**FHIR_JSON, **server.headers("gp")}, server.headers("citizen")

        refused = client.post("/Observation", json=_result(None), headers=gp)  # write rule
        assert refused.status_code == 422, refused.text
        assert refused.json()["issue"][0]["expression"] == ["Observation.issued"]
        old = client.post("/Observation", json=_result(now - timedelta(days=30)), headers=gp)
        new = client.post("/Observation", json=_result(now - timedelta(days=1)), headers=gp)
        assert old.status_code == new.status_code == 201, (old.text, new.text)

        # the access rule: the citizen sees only the released result, the GP both
        found = client.get("/Observation", params={"code": f"{SCREENING}|"}, headers=citizen)
        ids = [e["resource"]["id"] for e in found.json().get("entry", [])]
        assert ids == [old.json()["id"]], found.text
        held = client.get(f"/Observation/{new.json()['id']}", headers=citizen)
        assert held.status_code == 404  # not told it exists
        assert client.get(f"/Observation/{new.json()['id']}", headers=gp).status_code == 200

        # the operation, under the same rules, and published with the others
        assert (_summary(client, citizen), _summary(client, gp)) == (1, 2)
        statement = client.get("/metadata").json()
        patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
        assert "screening-summary" in {op["name"] for op in patient["operation"]}
        definition = client.get(
            "/OperationDefinition/samhandling-Patient-screening-summary", headers=gp
        )
        assert definition.status_code == 200 and definition.json()["instance"] is True
