"""Measurements end to end through a real server process: a home-monitoring system posts a
batch of vital signs for a citizen and resends it (nothing stored twice), a GP gets daily
aggregates, computes NEWS2 from the set and an alert is raised once."""

from __future__ import annotations

from typing import Any

import httpx

from fixtures.critical_information import CITIZEN
from fixtures.server_process import ServerProcess
from services.measurements.vitals_kit import batch, vital, vital_set

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _post_batch(
    server: ServerProcess, client: httpx.Client, headers: dict[str, str], body: dict[str, Any]
) -> list[str]:
    response = client.post(server.base_url, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return [e["response"]["status"][:3] for e in response.json()["entry"]]


def test_a_system_posts_vitals_and_a_gp_sees_aggregates_and_news2(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        server.load_personas(client)
        system, gp = {**FHIR_JSON, **server.headers()}, {**FHIR_JSON, **server.headers("gp")}
        at = "2024-03-01T08:00:00Z"
        vitals = [*vital_set(at, 26, 90, 88, 135, "V", 34.8), vital("oxygen-flow", 2, at)]
        vitals += [vital("pulse", 80, "2024-03-02T08:00:00Z")]
        assert _post_batch(server, client, system, batch(vitals)) == ["201"] * 8
        assert _post_batch(server, client, system, batch(vitals)) == ["200"] * 8  # resent: harmless

        query = {"patient": f"Patient/{CITIZEN}", "code": "http://loinc.org|8867-4",
                 "start": "2024-03-01", "end": "2024-03-03", "interval": "day"}  # fmt: skip
        days = client.get("/Observation/$aggregate", params=query, headers=gp)
        assert days.status_code == 200, days.text
        counts = [
            next(p["valueInteger"] for p in i["part"] if p["name"] == "count")
            for i in days.json()["parameter"]
            if i["name"] == "interval"
        ]
        assert counts == [1, 1]

        found = client.get(
            "/Observation", params={"subject": f"Patient/{CITIZEN}", "date": "2024-03-01"},
            headers=gp,
        ).json()  # fmt: skip
        references = [f"Observation/{e['resource']['id']}" for e in found["entry"]]
        parameters = [{"name": "observation", "valueReference": {"reference": r}}
                      for r in references]  # fmt: skip
        body = {"resourceType": "Parameters", "parameter": parameters}
        first = client.post(f"/Patient/{CITIZEN}/$news2", json=body, headers=gp)
        assert first.status_code == 201, first.text
        names = [p["name"] for p in first.json()["parameter"]]
        assert names == ["score", "alert"]
        score = first.json()["parameter"][0]["resource"]
        assert score["valueQuantity"]["value"] == 20  # every parameter at its worst
        again = client.post(f"/Patient/{CITIZEN}/$news2", json=body, headers=gp)
        assert again.status_code == 200 and len(again.json()["parameter"]) == 1
        alerts = client.get(
            "/Communication", params={"subject": f"Patient/{CITIZEN}", "category": "alert"},
            headers=gp,
        ).json()  # fmt: skip
        assert alerts["total"] == 1
