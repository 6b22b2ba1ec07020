"""Callers must be in the base registers: HPR number with its authorisation, organisations."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import orjson

from fixtures.fhir_app import FHIR_JSON, make_client, mint


def test_unregistered_clinician_is_refused_until_registered(
    database_url: str, tmp_path: Path
) -> None:
    with make_client(database_url, tmp_path, check_registers=True) as client:
        gp = {"Authorization": f"Bearer {mint(tmp_path, 'gp')}"}
        refused = client.get("/fhir/Patient", headers=gp)
        assert refused.status_code == 403
        assert "register" in refused.json()["issue"][0]["diagnostics"]
        system = client.get("/fhir/Patient")
        assert system.status_code == 403  # the integration system's organisation is unknown too
    register = resources.files("samhandling.demo").joinpath("register-bundle.json").read_bytes()
    with make_client(database_url, tmp_path, check_registers=False) as loader:
        response = loader.post("/fhir", content=register, headers=FHIR_JSON)
        assert response.status_code == 200, response.text
    with make_client(database_url, tmp_path, check_registers=True) as client:
        gp = {"Authorization": f"Bearer {mint(tmp_path, 'gp')}"}
        assert client.get("/fhir/Patient", headers=gp).status_code == 200
        claims_as_nurse = mint(
            tmp_path, "gp", authorization_details=_with_authorisation(tmp_path, "SP")
        )
        wrong = client.get("/fhir/Patient", headers={"Authorization": f"Bearer {claims_as_nurse}"})
        assert wrong.status_code == 403  # the register says physician (LE), not nurse


def _with_authorisation(tmp_path: Path, code: str) -> dict:
    from fixtures.fhir_app import app_settings
    from samhandling.auth import DevIssuer
    from samhandling.auth.dev.personas import persona

    issuer = DevIssuer(tmp_path, app_settings("", tmp_path).dev_issuer_url)
    claims = issuer.claims_for(
        persona("gp"),
        patient_fnr=None,
        purpose=None,
        dpop_jkt=None,
        lifetime=600,
        reason=None,
        scopes=None,
        authorization_details=None,
        client_id=None,
    )
    attestation = orjson.loads(orjson.dumps(claims["nhn:tillitsrammeverk:parameters"]))
    attestation["practitioner"]["authorization"]["code"] = code
    return attestation
