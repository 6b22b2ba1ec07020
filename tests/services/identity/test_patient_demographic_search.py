"""PDQm-style demographic search (ITI-78) works through the API with a clinician's token."""

from __future__ import annotations

import pytest
from identitykit import FNR, create
from starlette.testclient import TestClient

KARI = {
    "resourceType": "Patient",
    "identifier": [{"system": FNR, "value": "05858540072"}],
    "name": [{"family": "Ødegård", "given": ["Kari", "Anne"]}],
    "gender": "female",
    "birthDate": "1985-05-05",
    "address": [{"line": ["Storgata 1"], "postalCode": "0155", "city": "Oslo"}],
}
OLA = {
    "resourceType": "Patient",
    "name": [{"family": "Hansen", "given": ["Ola"]}],
    "gender": "male",
    "birthDate": "1970-01-01",
    "address": [{"line": ["Fjordveien 2"], "postalCode": "5003", "city": "Bergen"}],
}


@pytest.mark.parametrize(
    "query",
    [
        f"identifier={FNR}|05858540072",
        "family=odegard",
        "family=Ødegård&given=anne",
        "name=kari",
        "birthdate=1985-05-05",
        "gender=female&birthdate=1985",
        "address-postalcode=0155",
        "address=storgata",
        "address-city=oslo&family=ode",
    ],
)
def test_demographic_queries_find_the_patient(gp_client: TestClient, query: str) -> None:
    kari = create(gp_client, KARI)
    create(gp_client, OLA)
    response = gp_client.get(f"/fhir/Patient?{query}")
    assert response.status_code == 200, response.text
    ids = [e["resource"]["id"] for e in response.json()["entry"] if e["search"]["mode"] == "match"]
    assert ids == [kari["id"]]
