"""The trust framework under attack, against a real `samhandling serve` process.

Every forged, stale or misdirected request is refused with the right status, and nothing
about other patients' data is revealed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from fixtures.databases import migrate
from fixtures.server_process import ServerProcess
from samhandling.auth import DevIssuer
from samhandling.auth.dev.personas import persona
from samhandling.auth.jose import sha256_b64url
from samhandling.identifiers.identifier_systems import FNR_SYSTEM

CITIZEN_FNR = persona("citizen").pid or ""
OTHER_FNR = "12837510110"
JSON = {"Content-Type": "application/fhir+json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("attacks")
    url = f"sqlite:///{folder / 'attacks.db'}"
    migrate(url)
    process = ServerProcess(url, folder / "data").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def issuer(server: ServerProcess) -> DevIssuer:
    return DevIssuer(server.data_dir, server.base_url.removesuffix("/fhir") + "/dev-issuer")


@pytest.fixture(scope="module")
def data(server: ServerProcess) -> dict[str, str]:
    """Two patients (the citizen and somebody else), each with an Observation."""
    system = server.headers()
    ids: dict[str, str] = {}
    for name, fnr in (("own", CITIZEN_FNR), ("other", OTHER_FNR)):
        patient = {"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": fnr}]}
        pid = _post(server, "Patient", patient, system)["id"]
        observation = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "weight"},
            "subject": {"reference": f"Patient/{pid}"},
        }
        ids[name] = pid
        ids[f"{name}-obs"] = _post(server, "Observation", observation, system)["id"]
    return ids


def _post(server: ServerProcess, rtype: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = httpx.post(
        f"{server.base_url}/{rtype}", content=orjson.dumps(body), headers={**JSON, **headers}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _get(server: ServerProcess, path: str, token: str | None, **headers: str) -> httpx.Response:
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    return httpx.get(f"{server.base_url}/{path}", headers=headers)


def _claims(issuer: DevIssuer, name: str = "system", **changes: Any) -> dict[str, Any]:
    claims = issuer.claims_for(
        persona(name),
        patient_fnr=None,
        purpose=None,
        dpop_jkt=None,
        lifetime=600,
        reason=None,
        scopes=None,
        authorization_details=None,
        client_id=None,
    )
    claims.update(changes)
    return claims


def _refused(response: httpx.Response, status: int = 401) -> None:
    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    if status == 401:
        assert response.headers["www-authenticate"].split()[0] in ("Bearer", "DPoP")


def test_valid_token_is_accepted(
    server: ServerProcess, issuer: DevIssuer, data: dict[str, str]
) -> None:
    assert _get(server, f"Patient/{data['own']}", issuer.sign(_claims(issuer))).status_code == 200


def test_no_token(server: ServerProcess, data: dict[str, str]) -> None:
    _refused(_get(server, f"Patient/{data['own']}", None))
    assert _get(server, "metadata", None).status_code == 200  # the one open FHIR endpoint


def test_expired_and_not_yet_valid(
    server: ServerProcess, issuer: DevIssuer, data: dict[str, str]
) -> None:
    now = int(time.time())
    expired = issuer.sign(_claims(issuer, iat=now - 7200, nbf=now - 7200, exp=now - 3600))
    _refused(_get(server, f"Patient/{data['own']}", expired))
    future = issuer.sign(_claims(issuer, iat=now, nbf=now + 3600, exp=now + 7200))
    _refused(_get(server, f"Patient/{data['own']}", future))


def test_wrong_issuer_and_audience(
    server: ServerProcess, issuer: DevIssuer, data: dict[str, str]
) -> None:
    _refused(
        _get(
            server,
            f"Patient/{data['own']}",
            issuer.sign(_claims(issuer, iss="https://evil.example")),
        )
    )
    _refused(
        _get(server, f"Patient/{data['own']}", issuer.sign(_claims(issuer, aud="another-api")))
    )


def test_alg_none_and_hmac_with_public_key(
    server: ServerProcess, issuer: DevIssuer, data: dict[str, str]
) -> None:
    claims = _claims(issuer)
    kid = issuer.jwks()["keys"][0]["kid"]
    header = base64.urlsafe_b64encode(
        orjson.dumps({"alg": "none", "typ": "at+jwt", "kid": kid})
    ).rstrip(b"=")
    payload = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=")
    _refused(_get(server, f"Patient/{data['own']}", f"{header.decode()}.{payload.decode()}."))
    # The classic key-confusion forgery: HS256 keyed with the issuer's public key bytes
    # (built by hand: joserfc itself refuses to do this).
    public_pem = ECKey.import_key(issuer.jwks()["keys"][0]).as_pem(private=False)
    head = _b64(orjson.dumps({"alg": "HS256", "kid": kid, "typ": "at+jwt"}))
    signing_input = f"{head}.{_b64(orjson.dumps(claims))}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{_b64(mac)}"
    _refused(_get(server, f"Patient/{data['own']}", forged))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_unknown_kid_and_tampered_payload(
    server: ServerProcess, issuer: DevIssuer, data: dict[str, str]
) -> None:
    stranger = ECKey.generate_key("P-256", parameters={"kid": "not-a-known-key"})
    claims = _claims(issuer)
    foreign = jwt.encode(
        {"alg": "ES256", "kid": "not-a-known-key", "typ": "at+jwt"},
        claims,
        stranger,
        algorithms=["ES256"],
    )
    _refused(_get(server, f"Patient/{data['own']}", foreign))
    header, _payload, signature = issuer.sign(claims).split(".")
    tampered_claims = {**claims, "scope": "system/*.cruds user/*.cruds"}
    tampered = base64.urlsafe_b64encode(orjson.dumps(tampered_claims)).rstrip(b"=").decode()
    _refused(_get(server, f"Patient/{data['own']}", f"{header}.{tampered}.{signature}"))


def _proof(key: ECKey, method: str, url: str, token: str, jti: str | None = None) -> str:
    body = {
        "jti": jti or str(uuid.uuid4()),
        "htm": method,
        "htu": url,
        "iat": int(time.time()),
        "ath": sha256_b64url(token),
    }
    header = {"alg": "ES256", "typ": "dpop+jwt", "jwk": key.as_dict(private=False)}
    return jwt.encode(header, body, key, algorithms=["ES256"])


def test_dpop_binding_and_replay(
    server: ServerProcess, issuer: DevIssuer, data: dict[str, str]
) -> None:
    key = ECKey.generate_key("P-256")
    token = issuer.sign(_claims(issuer, cnf={"jkt": key.thumbprint()}))
    url = f"{server.base_url}/Patient/{data['own']}"
    good = _proof(key, "GET", url, token)
    assert (
        httpx.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": good}).status_code == 200
    )
    replay = httpx.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": good})
    _refused(replay)
    _refused(httpx.get(url, headers={"Authorization": f"Bearer {token}"}))
    _refused(httpx.get(url, headers={"Authorization": f"DPoP {token}"}))
    other_url = _proof(key, "GET", f"{server.base_url}/Patient/{data['other']}", token)
    _refused(httpx.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": other_url}))
    other_method = _proof(key, "DELETE", url, token)
    _refused(httpx.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": other_method}))
    wrong_key = _proof(ECKey.generate_key("P-256"), "GET", url, token)
    _refused(httpx.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": wrong_key}))


def test_clinician_without_purpose_or_with_stale_attestation(
    server: ServerProcess, issuer: DevIssuer, data: dict[str, str]
) -> None:
    fresh = issuer.mint("gp", patient_fnr=OTHER_FNR)
    assert _get(server, f"Observation/{data['other-obs']}", fresh).status_code == 200
    claims = _claims(issuer, "gp")
    attestation = claims["nhn:tillitsrammeverk:parameters"]
    del attestation["care_relationship"]["purpose_of_use"]
    _refused(_get(server, f"Observation/{data['other-obs']}", issuer.sign(claims)), 403)
    now = int(time.time())
    stale = _claims(issuer, "gp", iat=now - 2 * 3600, nbf=now - 2 * 3600, exp=now + 600)
    _refused(_get(server, f"Observation/{data['other-obs']}", issuer.sign(stale)), 403)
    emergency_without_reason = issuer.mint("gp", purpose="BTG", reason="")
    _refused(_get(server, f"Observation/{data['other-obs']}", emergency_without_reason), 403)


def test_citizen_reaches_only_own_data(
    server: ServerProcess, issuer: DevIssuer, data: dict[str, str]
) -> None:
    citizen = issuer.mint("citizen", patient_fnr=CITIZEN_FNR)
    assert _get(server, f"Observation/{data['own-obs']}", citizen).status_code == 200
    for path in (
        f"Patient/{data['other']}",
        f"Observation/{data['other-obs']}",
        f"Observation/{data['other-obs']}/_history",
        f"Observation/{data['other-obs']}/_history/1",
    ):
        response = _get(server, path, citizen)
        assert response.status_code == 404, (path, response.text)
        # Indistinguishable from asking for an id that does not exist at all.
        target = path.split("/")[1]
        unknown = _get(server, path.replace(target, "no-such-id"), citizen)
        assert response.json() == orjson.loads(unknown.text.replace("no-such-id", target))
    history = _get(server, "Observation/_history", citizen).json()
    assert [e["resource"]["id"] for e in history["entry"]] == [data["own-obs"]]
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "GET", "url": f"Observation/{data['other-obs']}"}},
        ],
    }
    response = httpx.post(
        server.base_url,
        content=orjson.dumps(transaction),
        headers={**JSON, "Authorization": f"Bearer {citizen}"},
    )
    assert response.status_code == 404 and data["other"] not in response.text
    write = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": f"Patient/{data['own']}"},
    }
    refused = httpx.post(
        f"{server.base_url}/Observation",
        content=orjson.dumps(write),
        headers={**JSON, "Authorization": f"Bearer {citizen}"},
    )
    _refused(refused, 403)


def _ids(bundle: dict[str, Any]) -> set[str]:
    return {
        e["resource"]["id"]
        for e in bundle.get("entry", [])
        if e.get("search", {}).get("mode") != "outcome"
    }


def test_citizen_searches_reveal_nothing_of_others(
    server: ServerProcess, issuer: DevIssuer, data: dict[str, str]
) -> None:
    citizen = issuer.mint("citizen", patient_fnr=CITIZEN_FNR)
    own = {data["own"], data["own-obs"]}
    found = _get(server, "Observation", citizen).json()
    assert _ids(found) == {data["own-obs"]} and found.get("total", 1) == 1
    included = _get(server, "Observation?_include=Observation:subject", citizen).json()
    assert _ids(included) == own
    revincluded = _get(server, "Patient?_revinclude=Observation:subject", citizen).json()
    assert _ids(revincluded) == own
    everything = _get(server, "Observation?_include=*&_revinclude=*", citizen).json()
    assert _ids(everything) <= own
    chained = _get(
        server, f"Observation?subject:Patient.identifier={FNR_SYSTEM}|{OTHER_FNR}", citizen
    )
    assert chained.status_code == 200 and _ids(chained.json()) == set()
    assert chained.json().get("total", 0) == 0
    has = _get(server, f"Patient?_has:Observation:subject:_id={data['other-obs']}", citizen).json()
    assert _ids(has) == set()
    compartment = _get(server, f"Patient/{data['other']}/Observation", citizen)
    assert compartment.status_code in (403, 404) and data["other-obs"] not in compartment.text
    system_wide = httpx.get(
        f"{server.base_url}?_type=Observation,Patient",
        headers={"Authorization": f"Bearer {citizen}"},
    ).json()
    assert _ids(system_wide) <= own


def _send(
    server: ServerProcess, method: str, path: str, token: str, body: Any = None, **headers: str
) -> httpx.Response:
    headers = {**JSON, "Authorization": f"Bearer {token}", **headers}
    content = orjson.dumps(body) if body is not None else None
    url = f"{server.base_url}/{path}" if path else server.base_url
    return httpx.request(method, url, content=content, headers=headers)


def test_conditional_interactions_reveal_nothing_of_others(
    server: ServerProcess, issuer: DevIssuer, data: dict[str, str]
) -> None:
    """If-None-Exist, conditional update and delete: no match, count or content of what the
    caller may not see (issue 16, items 1 and 2)."""
    criteria = f"patient.identifier={FNR_SYSTEM}|{OTHER_FNR}"
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": f"Patient/{data['own']}"},
    }
    citizen = issuer.mint("citizen", patient_fnr=CITIZEN_FNR)
    officer = issuer.mint("security-officer")
    if_none_exist = {"If-None-Exist": criteria}
    for token in (citizen, officer):
        response = _send(server, "POST", "Observation", token, observation, **if_none_exist)
        _refused(response, 403)
        assert data["other-obs"] not in response.text
        for method in ("DELETE", "PUT"):
            body = observation if method == "PUT" else None
            _refused(_send(server, method, f"Observation?{criteria}", token, body), 403)
    # a GP attested for the citizen only: the other's Observation does not match
    gp = issuer.mint("gp", patient_fnr=CITIZEN_FNR)
    condition = observation | {"resourceType": "Condition"}
    del condition["status"]
    entry = {
        "resource": condition,
        "request": {"method": "POST", "url": "Condition", "ifNoneExist": criteria},
    }
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    response = _send(server, "POST", "", gp, bundle)
    assert response.status_code == 200, response.text
    assert response.json()["entry"][0]["response"]["status"].startswith("201")
    answer = _send(server, "POST", "Condition", gp, condition, **if_none_exist)
    assert answer.status_code == 201, answer.text
    assert answer.json()["subject"] == condition["subject"]
    system = issuer.mint("system")
    assert _get(server, f"Observation/{data['other-obs']}", system).status_code == 200


def test_foreign_and_deleted_resources_stay_hidden(
    server: ServerProcess, issuer: DevIssuer, data: dict[str, str]
) -> None:
    """A Patient URL of another server is not the local patient; another's deleted resource
    is as unknown as a live one (issue 16, items 3 and 4)."""
    system = server.headers()
    foreign = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": f"https://other-hospital.example/fhir/Patient/{data['own']}"},
    }
    foreign_id = _post(server, "Observation", foreign, system)["id"]
    gone = foreign | {"subject": {"reference": f"Patient/{data['other']}"}}
    gone_id = _post(server, "Observation", gone, system)["id"]
    deleted = httpx.delete(f"{server.base_url}/Observation/{gone_id}", headers=system)
    assert deleted.status_code == 204
    citizen = issuer.mint("citizen", patient_fnr=CITIZEN_FNR)
    for rid in (foreign_id, gone_id):
        for path in (f"Observation/{rid}", f"Observation/{rid}/_history"):
            response = _get(server, path, citizen)
            assert response.status_code == 404, (path, response.text)
    for path in ("Observation/_history", "_history", "Observation"):
        response = _get(server, path, citizen)
        assert foreign_id not in response.text and gone_id not in response.text
