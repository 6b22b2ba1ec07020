"""Callers must be in the base registers: HPR number with its authorisation, organisations."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, cast

import orjson
from starlette.datastructures import Headers

from fixtures.fhir_app import FHIR_JSON, make_client, mint
from samhandling.api.authentication import CallerVerifier
from samhandling.auth import Principal
from samhandling.auth.principal import RegisterStanding


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


class _Remembered:
    """A register cache that knows every caller, with the answer the test sets."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def remembered(self, _principal: Principal) -> tuple[bool, str | None]:
        return True, self.reason


class _Recalled:
    """An authenticator that recalls one principal (as for a remembered token)."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def authenticate_at_hand(self, *_args: object) -> Principal:
        return self.principal


def test_the_registers_answer_is_put_on_a_remembered_principal_once() -> None:
    """The principal with the registers' answer is kept while the principal and the answer
    are the same; a new answer gives a new principal."""
    registers = _Remembered()
    remembered = Principal(kind="clinician", issuer="https://issuer", subject="gp")
    verifier = CallerVerifier(
        cast(Any, _Recalled(remembered)), cast(Any, None), "https://fhir", cast(Any, registers)
    )
    first = verifier.principal_at_hand("GET", "https://fhir/fhir/Patient/1", Headers())
    assert first is not None and first.registers == RegisterStanding(None)
    assert verifier.principal_at_hand("GET", "https://fhir/fhir/Patient/1", Headers()) is first
    registers.reason = "no authorisation"
    verifier.enforce_registers = False
    changed = verifier.principal_at_hand("GET", "https://fhir/fhir/Patient/1", Headers())
    assert changed is not None and changed.registers == RegisterStanding("no authorisation")
