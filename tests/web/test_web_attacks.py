"""Attacks on the web views and their login, against a real server process (PostgreSQL):
CSRF missing, wrong or another session's; a forged state; a forged PKCE verifier and a
replayed code at the token endpoint; a tampered session cookie; the cookies' flags and the
pages' security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from fixtures.critical_information import CITIZEN
from fixtures.document_sharing import provide_bundle
from fixtures.server_process import ServerProcess
from fixtures.tampering import altered_signature
from samhandling.auth import DevIssuer
from samhandling.web.oidc import pkce_pair


@pytest.fixture
def root(web_server: ServerProcess) -> str:
    return web_server.base_url.removesuffix("/fhir")


@pytest.fixture
def visitor(root: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=root, timeout=30, follow_redirects=False) as client:
        yield client


def choose(client: httpx.Client, authorize_url: str, persona: str) -> httpx.Response:
    """The dev issuer's login page: pick the persona; its redirect back (not followed)."""
    page = client.get(authorize_url)
    assert page.status_code == 200, page.text
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert request_id is not None
    form = {"request_id": request_id.group(1), "persona": persona, "patient": "", "purpose": ""}
    return client.post("/dev-issuer/authorize", data=form)


def log_in(client: httpx.Client, persona: str = "citizen") -> httpx.Response:
    started = client.get("/login")
    back = choose(client, started.headers["location"], persona)
    return client.get(back.headers["location"])


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_the_cookies_are_httponly_samesite_and_hold_no_token(visitor: httpx.Client) -> None:
    landed = log_in(visitor)
    assert landed.status_code == 303
    cookie = next(
        c for c in landed.headers.get_list("set-cookie") if c.startswith("samhandling-session=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags  # plain http is allowed on loopback only (unit-tested)
    assert "eyJ" not in cookie  # a signed reference, never a token


def test_every_page_has_the_security_headers(visitor: httpx.Client) -> None:
    log_in(visitor)
    for path in ("/", "/citizen", "/citizen/access-log"):
        page = visitor.get(path, follow_redirects=True)
        assert page.status_code == 200, path
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "unsafe-inline" not in policy
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        assert "<script" not in page.text and " style=" not in page.text


def test_forms_without_the_sessions_csrf_token_are_refused(
    visitor: httpx.Client, root: str
) -> None:
    log_in(visitor, "gp")
    token = csrf_of(visitor.get("/clinician"))
    find = {"purpose": "TREAT", "national_id": "05858540072"}
    assert visitor.post("/clinician/find", data=find).status_code == 403
    assert visitor.post("/clinician/find", data={**find, "csrf_token": "x" * 43}).status_code == 403
    assert visitor.post("/logout", data={}).status_code == 403
    with httpx.Client(base_url=root, timeout=30, follow_redirects=False) as other:
        log_in(other, "gp")
        theirs = csrf_of(other.get("/clinician"))
    assert visitor.post("/logout", data={"csrf_token": theirs}).status_code == 403
    assert visitor.get("/clinician").status_code == 200  # still logged in: nothing happened
    assert visitor.post("/logout", data={"csrf_token": token}).status_code == 303
    assert visitor.get("/clinician").status_code == 303  # logged out


def test_a_forged_state_or_a_foreign_callback_logs_nobody_in(
    visitor: httpx.Client, root: str
) -> None:
    started = visitor.get("/login")
    back = choose(visitor, started.headers["location"], "citizen")
    query = parse_qs(urlsplit(back.headers["location"]).query)
    forged = visitor.get("/login/callback", params={"code": query["code"][0], "state": "forged"})
    assert forged.status_code == 400 and "samhandling-session" not in forged.headers.get(
        "set-cookie", ""
    )
    # the victim's callback URL replayed in another browser (no login under way there)
    with httpx.Client(base_url=root, timeout=30, follow_redirects=False) as attacker:
        replayed = attacker.get(back.headers["location"])
        assert replayed.status_code == 400
        assert "samhandling-session" not in replayed.headers.get("set-cookie", "")


def test_a_forged_verifier_and_a_replayed_code_are_refused_by_the_issuer(
    visitor: httpx.Client, web_server: ServerProcess, root: str
) -> None:
    issuer = DevIssuer(web_server.data_dir, root + "/dev-issuer")
    secret = issuer.web_client_secret()
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": "samhandling-web",
        "redirect_uri": root + "/login/callback",
        "state": "s",
        "nonce": "n",
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    back = choose(visitor, "/dev-issuer/authorize?" + str(httpx.QueryParams(params)), "gp")
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": root + "/login/callback",
    }
    auth = ("samhandling-web", secret)
    forged = visitor.post(
        "/dev-issuer/token", data={**form, "code_verifier": pkce_pair()[0]}, auth=auth
    )
    assert forged.status_code == 400 and forged.json()["error"] == "invalid_grant"
    burnt = visitor.post("/dev-issuer/token", data={**form, "code_verifier": verifier}, auth=auth)
    assert burnt.status_code == 400  # the code was spent by the forged attempt
    guessed = visitor.post(
        "/dev-issuer/token", data={**form, "code_verifier": verifier}, auth=("samhandling-web", "x")
    )
    assert guessed.status_code == 401


def test_a_tampered_session_cookie_is_no_session(visitor: httpx.Client) -> None:
    log_in(visitor)
    value = visitor.cookies["samhandling-session"]
    visitor.cookies.set("samhandling-session", altered_signature(value))
    assert visitor.get("/citizen").status_code == 303  # to the front page, logged out
    assert visitor.get("/").status_code == 200


def test_the_login_page_refuses_unregistered_redirects(visitor: httpx.Client, root: str) -> None:
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": "samhandling-web",
        "redirect_uri": "https://evil.example/callback",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    refused = visitor.get("/dev-issuer/authorize", params=params)
    assert refused.status_code == 400 and "location" not in refused.headers
    assert "evil.example" not in refused.headers["content-security-policy"]


@pytest.fixture(scope="module")
def document(web_server: ServerProcess) -> tuple[str, str]:
    """(DocumentReference id, Binary id) of a discharge summary of Cecilie's."""
    bundle, _ = provide_bundle(CITIZEN)
    headers = {"Content-Type": "application/fhir+json", **web_server.headers("hospital-physician")}
    answer = httpx.post(web_server.base_url, json=bundle, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    locations = [e["response"]["location"] for e in answer.json()["entry"]]
    ids = {loc.split("/")[0]: loc.split("/")[1] for loc in locations}
    return ids["DocumentReference"], ids["Binary"]


def hidden(server: ServerProcess, document_id: str) -> bool:
    found = httpx.get(
        f"{server.base_url}/DocumentReference/{document_id}",
        headers=server.headers("citizen"),
        timeout=30,
    )
    assert found.status_code == 200, found.text
    return "NORS" in found.text


def test_documents_are_hidden_only_by_their_patient_with_the_sessions_csrf_token(
    visitor: httpx.Client, root: str, web_server: ServerProcess, document: tuple[str, str]
) -> None:
    document_id, binary_id = document
    log_in(visitor)  # Cecilie
    token = csrf_of(visitor.get("/citizen"))
    hide = f"/citizen/documents/{document_id}/hide"
    for form in ({}, {"csrf_token": "forged"}):
        refused = visitor.post(hide, data={**form, "patient": CITIZEN})
        assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert not hidden(web_server, document_id)

    with httpx.Client(base_url=root, timeout=30, follow_redirects=False) as petter:
        log_in(petter, "parent")  # acts for his children, never for Cecilie
        theirs = csrf_of(petter.get("/citizen"))
        assert petter.get(f"/citizen/documents/{binary_id}").status_code == 404
        refused = petter.post(hide, data={"csrf_token": theirs, "patient": CITIZEN})
        assert refused.status_code in (403, 404)
        assert "<h1>" in refused.text and "OperationOutcome" not in refused.text
        refused = visitor.post(hide, data={"csrf_token": theirs, "patient": CITIZEN})
        assert refused.status_code == 403  # his token in her session
    assert not hidden(web_server, document_id)

    done = visitor.post(hide, data={"csrf_token": token, "patient": CITIZEN})
    assert done.status_code == 303 and hidden(web_server, document_id)
    shown = visitor.post(hide.replace("/hide", "/show"), data={"csrf_token": token})
    assert shown.status_code == 303 and not hidden(web_server, document_id)


def test_unknown_web_paths_are_html_404_pages_not_outcomes(visitor: httpx.Client) -> None:
    for method, path in (
        ("GET", "/citizen/nothing/here"),
        ("POST", "/clinician/nothing"),
        ("GET", "/login/elsewhere"),
        ("GET", "/language/xx/yy"),
    ):
        answer = visitor.request(method, path)
        assert answer.status_code == 404, (method, path)
        assert answer.headers["content-type"].startswith("text/html")
        assert "Finnes ikke" in answer.text and "OperationOutcome" not in answer.text
        assert "script-src" not in answer.headers["content-security-policy"]
    english = visitor.get("/citizen/nothing", headers={"Accept-Language": "en"})
    assert english.status_code == 404 and "Not found" in english.text
    assert (
        visitor.get("/fhir/NoSuchType").headers["content-type"].startswith("application/fhir+json")
    )  # the API's own 404 stays an OperationOutcome


def poa_grants(server: ServerProcess, patient: str) -> list[dict[str, object]]:
    """The powers of attorney in a patient's record, as the system persona sees them."""
    found = httpx.get(
        f"{server.base_url}/RelatedPerson",
        params={"patient": patient},
        headers=server.headers("system"),
        timeout=30,
    )
    assert found.status_code == 200, found.text
    return [e["resource"] for e in found.json().get("entry", []) if "POWATT" in str(e["resource"])]


def test_powers_of_attorney_are_given_and_revoked_only_by_the_grantor_with_the_csrf_token(
    visitor: httpx.Client, root: str, web_server: ServerProcess
) -> None:
    log_in(visitor)  # Cecilie
    token = csrf_of(visitor.get("/citizen/powers-of-attorney"))
    grant = {"attorney": "21908345182", "family": "Forelder"}  # Petter
    for form in ({}, {"csrf_token": "forged"}):
        refused = visitor.post("/citizen/powers-of-attorney/grant", data={**grant, **form})
        assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    with httpx.Client(base_url=root, timeout=30, follow_redirects=False) as frida:
        log_in(frida, "attorney")  # acts for Gunnar by his power of attorney
        theirs = csrf_of(frida.get("/citizen/powers-of-attorney"))
        refused = visitor.post(
            "/citizen/powers-of-attorney/grant", data={**grant, "csrf_token": theirs}
        )
        assert refused.status_code == 403  # her token in Cecilie's session
        # she cannot revoke (or otherwise touch) Gunnar's grant: the forms act on her own
        # record only, and his grant is not in it
        gunnars = "persona-grantor-attorney-1"
        revoke = f"/citizen/powers-of-attorney/{gunnars}/revoke"
        refused = frida.post(revoke, data={"csrf_token": theirs})
        assert refused.status_code == 404 and "<h1>" in refused.text
        refused = visitor.post(revoke, data={"csrf_token": token})
        assert refused.status_code == 404  # nor can Cecilie
    assert poa_grants(web_server, "persona-citizen") == []
    (gunnar,) = poa_grants(web_server, "persona-grantor")
    assert gunnar["active"] is True
    done = visitor.post("/citizen/powers-of-attorney/grant", data={**grant, "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=granted")
    (given,) = poa_grants(web_server, "persona-citizen")
    refused = visitor.post(f"/citizen/powers-of-attorney/{given['id']}/revoke", data={})
    assert refused.status_code == 403 and poa_grants(web_server, "persona-citizen")[0]["active"]
    revoke = f"/citizen/powers-of-attorney/{given['id']}/revoke"
    done = visitor.post(revoke, data={"csrf_token": token})
    assert (
        done.status_code == 303 and poa_grants(web_server, "persona-citizen")[0]["active"] is False
    )
