"""Measurement systems use DPoP-bound tokens: with SAMHANDLING_REQUIRE_DPOP a system's plain
Bearer token is refused, and the same system with a DPoP proof is heard."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from starlette.testclient import TestClient

from fixtures.fhir_app import BASE, FHIR_JSON, make_client, mint
from samhandling.auth.jose import sha256_b64url
from services.measurements.vitals_kit import batch, vital


@pytest.fixture
def dpop_client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(database_url, tmp_path, persona=None, require_dpop=True) as client:
        yield client


def _proof(key: ECKey, method: str, url: str, token: str) -> str:
    body = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time()),
            "ath": sha256_b64url(token)}  # fmt: skip
    header = {"alg": "ES256", "typ": "dpop+jwt", "jwk": key.as_dict(private=False)}
    return jwt.encode(header, body, key, algorithms=["ES256"])


def test_a_system_token_without_dpop_is_refused(dpop_client: TestClient, tmp_path: Path) -> None:
    measurements = batch([vital("pulse", 70, "2024-03-01T08:00:00Z", patient="p1")])
    bearer = {"Authorization": f"Bearer {mint(tmp_path, 'system')}", **FHIR_JSON}
    refused = dpop_client.post("/fhir", json=measurements, headers=bearer)
    assert refused.status_code == 401, refused.text

    key = ECKey.generate_key("P-256")
    token = mint(tmp_path, "system", dpop_jkt=key.thumbprint())
    bound = {"Authorization": f"DPoP {token}", "DPoP": _proof(key, "POST", BASE, token)}
    heard = dpop_client.post("/fhir", json=measurements, headers={**bound, **FHIR_JSON})
    assert heard.status_code == 200, heard.text
