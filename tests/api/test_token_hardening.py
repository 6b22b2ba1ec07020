"""Issue 16 #5–#7 through the app, on both databases: the birth date of a represented
person comes from the national ID, a token's lifetime is bounded, a DPoP proof names the
configured base URL and is accepted once by all app instances sharing the database."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey
from starlette.testclient import TestClient

from fixtures.dpop_proofs import proof
from fixtures.fhir_app import BASE, FHIR_JSON, app_settings, make_client
from samhandling.auth import DevIssuer
from samhandling.auth.claims import ACTS_FOR
from samhandling.auth.dev.personas import persona
from samhandling.identifiers.identifier_systems import FNR_SYSTEM

ADULT_FNR = "12837510110"  # born 1975-03-12


def issuer(data_dir: Path) -> DevIssuer:
    return DevIssuer(data_dir, app_settings("", data_dir).dev_issuer_url)


def claims_of(data_dir: Path, name: str, **changes: Any) -> dict[str, Any]:
    claims = issuer(data_dir).claims_for(
        persona(name),
        patient_fnr=changes.pop("patient_fnr", None),
        purpose=None,
        dpop_jkt=changes.pop("dpop_jkt", None),
        lifetime=600,
        reason=None,
        scopes=None,
        authorization_details=None,
        client_id=None,
    )
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def adult_observation(client: TestClient) -> str:
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": FNR_SYSTEM, "value": ADULT_FNR}],
    }
    created = client.post(f"{BASE}/Patient", json=patient, headers=FHIR_JSON)
    assert created.status_code == 201, created.text
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "weight"},
        "subject": {"reference": f"Patient/{created.json()['id']}"},
    }
    made = client.post(f"{BASE}/Observation", json=observation, headers=FHIR_JSON)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_parent_claim_with_a_false_birth_date_is_refused(
    client: TestClient, tmp_path: Path
) -> None:
    """#5: 'parent of a child born 2020' for an adult born 1975 read the adult's data."""
    oid = adult_observation(client)
    # The dev issuer mints the parent persona only for its own child: forge the claim.
    claims = claims_of(tmp_path, "parent")
    claims[ACTS_FOR] = [{"pid": ADULT_FNR, "relation": "parent", "birth_date": "2020-01-01"}]
    response = client.get(
        f"{BASE}/Observation/{oid}", headers=bearer(issuer(tmp_path).sign(claims))
    )
    assert response.status_code == 401, response.text
    assert "birth_date" in response.json()["issue"][0]["diagnostics"]
    claims[ACTS_FOR] = [{"pid": ADULT_FNR, "relation": "parent", "birth_date": "1975-03-12"}]
    honest = issuer(tmp_path).sign(claims)
    assert client.get(f"{BASE}/Observation/{oid}", headers=bearer(honest)).status_code == 403


def test_token_without_iat_and_nbf_is_refused(client: TestClient, tmp_path: Path) -> None:
    """#6: a ten-year token without iat and nbf was accepted."""
    now = int(time.time())
    claims = claims_of(tmp_path, "system", iat=None, nbf=None, exp=now + 10 * 365 * 86400)
    response = client.get(f"{BASE}/Patient", headers=bearer(issuer(tmp_path).sign(claims)))
    assert response.status_code == 401
    assert "iat" in response.headers["www-authenticate"]


def dpop_token(data_dir: Path, key: ECKey) -> str:
    return issuer(data_dir).sign(claims_of(data_dir, "system", dpop_jkt=key.thumbprint()))


def test_dpop_htu_is_compared_with_the_configured_base_url(
    client: TestClient, tmp_path: Path
) -> None:
    """#6: a proof for another host was accepted when sent with that Host header."""
    key = ECKey.generate_key("P-256")
    token = dpop_token(tmp_path, key)
    other = "http://evil.example/fhir/Patient"
    spoofed = {"Authorization": f"DPoP {token}", "DPoP": proof(key, other, token)}
    response = client.get(other, headers=spoofed)
    assert response.status_code == 401
    assert "htu" in response.headers["www-authenticate"]
    ours = {"Authorization": f"DPoP {token}", "DPoP": proof(key, f"{BASE}/Patient", token)}
    assert client.get(other, headers=ours).status_code == 200  # whatever the Host header


def test_a_dpop_proof_is_accepted_once_by_all_apps_on_the_database(
    database_url: str, tmp_path: Path
) -> None:
    """#7: two app instances (as two worker processes) share the replay cache."""
    key = ECKey.generate_key("P-256")
    token = dpop_token(tmp_path, key)
    url = f"{BASE}/Patient"
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof(key, url, token)}
    with (
        make_client(database_url, tmp_path, persona=None) as first,
        make_client(database_url, tmp_path, persona=None) as second,
    ):
        assert first.get(url, headers=headers).status_code == 200
        replayed = second.get(url, headers=headers)
        assert replayed.status_code == 401
        assert "replay" in replayed.headers["www-authenticate"]
        assert first.get(url, headers=headers).status_code == 401
