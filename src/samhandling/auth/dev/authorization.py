"""The development issuer's authorization code flow: OpenID Connect with PKCE, SMART
App Launch (standalone, `launch/patient`), refresh tokens carrying a new attestation.

* `GET {prefix}/authorize` checks the request (RFC 6749 §4.1.1; a client or redirect URI
  that is not registered is shown an error, never redirected to: §4.1.2.1), keeps it under
  a random id and shows the login page, where a tester picks a persona (and which citizen
  of the demo population, or which patient to launch with). `POST {prefix}/authorize`
  names the kept request by its id (a page that did not come from us cannot log anybody
  in) and redirects with a one-time `code` and the `state`.
* PKCE is required, `S256` only (RFC 7636 §4.2; `plain` is refused, as OAuth 2.1 does).
  A code lives 60 seconds, is used once, and is bound to the client, the redirect URI,
  the challenge and the nonce.
* The `authorization_code` grant authenticates the client (its secret, by
  `client_secret_basic` or `client_secret_post`; or none for a registered public SMART
  app, whose PKCE is then its only proof) and answers an access token shaped like the
  client-credentials ones (`DevIssuer.claims_for`), an ID token (`nonce`, `aud` = the
  client) and a refresh token. With `launch/patient` the answer names the `patient`
  (SMART App Launch 2.0 §2.0.10) and the access token carries it as its launch patient.
* The `refresh_token` grant (RFC 6749 §6) rotates the refresh token. A clinician's client
  may send `authorization_details` of type `nhn:tillitsrammeverk:parameters` with it: the
  care relationship (purpose of use, its reason) and the patient; the new access token's
  attestation takes them, while the practitioner part (authorisation, organisation) always
  comes from the persona, never from the client. A clinician who logged in without a
  purpose has no purpose in the token: the policy shows such a caller no patient data.

Everything is held in this process's memory: run one worker (as `./dev serve` does).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from samhandling.auth.claims import ACTS_FOR
from samhandling.auth.dev.personas import PERSONAS, Persona, acting_for
from samhandling.auth.dev.token_endpoint import TokenEndpointError, authorization_details
from samhandling.auth.jose import sha256_b64url

if TYPE_CHECKING:
    from samhandling.auth.dev.issuer import DevIssuer

CODE_LIFETIME = 60
REQUEST_LIFETIME = 600
REFRESH_LIFETIME = 8 * 3600
ACCESS_LIFETIME = 900
#: Scopes that name no resource: asked for, they change the answer, not the access.
CONTEXT_SCOPES = frozenset(
    {"openid", "profile", "fhirUser", "launch/patient", "offline_access", "online_access"}
)
#: The personas of the login page, with what they are.
LOGIN_PERSONAS = {
    "citizen": "innbygger",
    "parent": "forelder som handler for sitt barn",
    "attorney": "har fullmakt fra en voksen",
    "gp": "fastlege",
    "hospital-physician": "sykehuslege",
    "home-care-nurse": "sykepleier i hjemmetjenesten",
    "pharmacist": "farmasøyt",
}

#: (national ID, display name, birth date) of people a tester may log in as.
PeopleFinder = Callable[[], list[tuple[str, str, str]]]
#: The Patient id of a national ID number, None when unknown.
PatientFinder = Callable[[str], "str | None"]
#: (national ID, relation) of the people a person acts for, as the population register
#: knows them: their children ("parent") and who gave them a power of attorney.
RelationsFinder = Callable[[str], list[tuple[str, str]]]


class AuthorizeRefused(Exception):
    """An authorize request that must not be redirected: shown to the user instead."""


class AuthorizeRedirect(Exception):
    """An authorize request refused back to the client: `url` carries the error."""

    def __init__(self, url: str, why: str) -> None:
        super().__init__(why)
        self.url = url


@dataclass(frozen=True)
class Client:
    """A client of the code flow: its redirect URIs and how it authenticates."""

    client_id: str
    redirect_uris: tuple[str, ...]
    secret_sha256: str | None = None  # None: a public client (PKCE is its only proof)


@dataclass(frozen=True)
class AuthorizeRequest:
    """A checked authorization request, waiting for the tester's choice."""

    client_id: str
    redirect_uri: str
    state: str
    challenge: str
    scopes: tuple[str, ...]
    nonce: str | None
    expires: float


@dataclass
class Grant:
    """What a code or refresh token stands for: who logged in, for which client."""

    client_id: str
    persona: str
    patient_fnr: str | None
    launch_patient: str | None
    scopes: tuple[str, ...]
    nonce: str | None = None
    redirect_uri: str = ""
    challenge: str = ""
    expires: float = 0.0
    purpose: str | None = None
    details: str | None = None  # the last authorization_details, kept across refreshes
    name: str | None = None  # a citizen of the demo population: their name
    auth_time: int = field(default_factory=lambda: int(time.time()))


class AuthorizationServer:
    """Clients, pending requests, codes and refresh tokens of the dev issuer's code flow."""

    def __init__(
        self,
        issuer: DevIssuer,
        *,
        people: PeopleFinder | None = None,
        patient_id_of: PatientFinder | None = None,
        relations_of: RelationsFinder | None = None,
    ) -> None:
        self.issuer = issuer
        self.people = people or (lambda: [])
        self.patient_id_of = patient_id_of or (lambda _fnr: None)
        self.relations_of = relations_of or (lambda _fnr: [])
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}
        self._requests: dict[str, AuthorizeRequest] = {}
        self._codes: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}

    def register(
        self, client_id: str, redirect_uris: tuple[str, ...], secret: str | None = None
    ) -> None:
        """Register a client (confidential with `secret`, else public)."""
        digest = hashlib.sha256(secret.encode()).hexdigest() if secret else None
        self._clients[client_id] = Client(client_id, redirect_uris, digest)

    # -- the authorize endpoint -------------------------------------------------------
    def begin(self, params: Mapping[str, str]) -> tuple[str, AuthorizeRequest]:
        """Check an authorize request; its id and the request, kept for the login page.
        AuthorizeRefused when it may not be redirected, else AuthorizeRedirect."""
        client = self._clients.get(params.get("client_id", ""))
        if client is None:
            raise AuthorizeRefused("unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise AuthorizeRefused("redirect_uri is not registered for this client")
        state = params.get("state", "")

        def refuse(error: str, why: str) -> AuthorizeRedirect:
            return AuthorizeRedirect(redirect_to(redirect_uri, error, state), why)

        if params.get("response_type") != "code":
            raise refuse("unsupported_response_type", "only response_type=code")
        if not state:
            raise refuse("invalid_request", "state is required")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
            raise refuse("invalid_request", "PKCE with code_challenge_method=S256 is required")
        scopes = tuple(dict.fromkeys(params.get("scope", "").split()))
        request = AuthorizeRequest(
            client.client_id,
            redirect_uri,
            state,
            challenge,
            scopes,
            params.get("nonce") or None,
            time.time() + REQUEST_LIFETIME,
        )
        request_id = secrets.token_urlsafe(24)
        with self._lock:
            self._forget_expired()
            self._requests[request_id] = request
        return request_id, request

    def complete(self, form: Mapping[str, str]) -> str:
        """The tester's choice on the login page: the redirect URL with a code."""
        with self._lock:
            request = self._requests.pop(form.get("request_id", ""), None)
        if request is None or request.expires < time.time():
            raise AuthorizeRefused("the login request is unknown or has expired; start again")
        persona_name = form.get("persona", "")
        if persona_name not in LOGIN_PERSONAS:
            raise AuthorizeRefused("choose one of the personas")
        persona = PERSONAS[persona_name]
        fnr = (form.get("patient") or "").strip() or None
        if fnr is not None and not (len(fnr) == 11 and fnr.isascii() and fnr.isdigit()):
            raise AuthorizeRefused("a national ID number has 11 digits")
        if persona.kind == "citizen" and (persona.default_child_pid or persona.grantor_pid):
            fnr = None  # the parent and the attorney speak for their own people only
        launch = None
        if "launch/patient" in request.scopes:
            launch = self.patient_id_of(fnr or persona.pid or "")
        purpose = (form.get("purpose") or "").upper() or None
        name = None
        if persona.kind == "citizen" and fnr is not None:
            name = next((n for f, n, _ in self.people() if f == fnr), "Testperson")
        grant = Grant(
            request.client_id,
            persona_name,
            fnr,
            launch,
            _granted_scopes(request.scopes, persona),
            request.nonce,
            request.redirect_uri,
            request.challenge,
            time.time() + CODE_LIFETIME,
            purpose if persona.kind == "clinician" else None,
            name=name,
        )
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = grant
        return redirect_to(request.redirect_uri, None, request.state, code)

    # -- the token endpoint -----------------------------------------------------------
    def token(self, form: Mapping[str, str], authorization: str | None) -> dict[str, Any]:
        """The `authorization_code` and `refresh_token` grants."""
        client = self._authenticate(form, authorization)
        if form.get("grant_type") == "authorization_code":
            grant = self._redeem(form, client)
        else:
            grant = self._refreshed(form, client)
            grant.details = form.get("authorization_details") or grant.details
        return self._answer(grant, grant.details)

    def _authenticate(self, form: Mapping[str, str], authorization: str | None) -> Client:
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:], validate=True).decode()
            except (ValueError, UnicodeDecodeError) as exc:
                raise TokenEndpointError("invalid_client", "bad basic credentials", 401) from exc
            client_id, _, secret = decoded.partition(":")
        client = self._clients.get(client_id)
        if client is None:
            raise TokenEndpointError("invalid_client", "unknown client", 401)
        if client.secret_sha256 is not None:
            offered = hashlib.sha256((secret or "").encode()).hexdigest()
            if not hmac.compare_digest(offered, client.secret_sha256):
                raise TokenEndpointError("invalid_client", "client authentication failed", 401)
        return client

    def _redeem(self, form: Mapping[str, str], client: Client) -> Grant:
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # used once, whatever happens
        if grant is None or grant.expires < time.time() or grant.client_id != client.client_id:
            raise TokenEndpointError("invalid_grant", "the code is unknown, used or expired")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise TokenEndpointError("invalid_grant", "redirect_uri does not match the code")
        verifier = form.get("code_verifier", "")
        if not is_verifier(verifier) or not hmac.compare_digest(s256(verifier), grant.challenge):
            raise TokenEndpointError("invalid_grant", "code_verifier does not match (PKCE)")
        return grant

    def _refreshed(self, form: Mapping[str, str], client: Client) -> Grant:
        with self._lock:
            grant = self._refresh.pop(form.get("refresh_token", ""), None)  # rotated
        if grant is None or grant.expires < time.time() or grant.client_id != client.client_id:
            raise TokenEndpointError("invalid_grant", "the refresh token is unknown or expired")
        return grant

    def _answer(self, grant: Grant, details: str | None) -> dict[str, Any]:
        persona = PERSONAS[grant.persona]
        authorization_details = None
        if persona.kind == "clinician":
            authorization_details = self.issuer.attestation_for(
                persona, *_care_relationship(details, grant.purpose)
            )
        claims = self.issuer.claims_for(
            persona,
            patient_fnr=grant.patient_fnr,
            purpose=None,
            dpop_jkt=None,
            lifetime=ACCESS_LIFETIME,
            reason=None,
            scopes=tuple(s for s in grant.scopes if s not in CONTEXT_SCOPES),
            authorization_details=authorization_details,
            client_id=grant.client_id,
        )
        if grant.launch_patient:
            claims["patient"] = grant.launch_patient
        if grant.name:
            claims["name"] = grant.name
        if persona.kind == "citizen" and isinstance(claims.get("pid"), str):
            claims.update(self._represented(claims["pid"]))
        refresh = secrets.token_urlsafe(32)
        grant.expires = time.time() + REFRESH_LIFETIME
        with self._lock:
            self._refresh[refresh] = grant
        answer: dict[str, Any] = {
            "access_token": self.issuer.sign(claims),
            "token_type": "Bearer",
            "expires_in": ACCESS_LIFETIME,
            "scope": " ".join(grant.scopes),
            "refresh_token": refresh,
        }
        if "openid" in grant.scopes:
            answer["id_token"] = self.issuer.id_token(claims, grant.client_id, grant.nonce)
        if grant.launch_patient:
            answer["patient"] = grant.launch_patient
        return answer

    def _represented(self, pid: str) -> dict[str, Any]:
        """A citizen acts for everyone the platform's registers relate them to at this
        login or refresh (children; adults whose current power of attorney names them),
        each with the birth date of its national ID."""
        relations = dict.fromkeys(self.relations_of(pid))
        if not relations:
            return {}
        return {ACTS_FOR: [acting_for(fnr, relation) for fnr, relation in relations]}

    def _forget_expired(self) -> None:
        now = time.time()
        for store in (self._requests, self._codes, self._refresh):
            for key in [k for k, v in store.items() if v.expires < now]:
                del store[key]


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 §4.2)."""
    return sha256_b64url(verifier)


def is_verifier(value: str) -> bool:
    """RFC 7636 §4.1: 43 to 128 unreserved characters."""
    return 43 <= len(value) <= 128 and all(c in _UNRESERVED for c in value)


_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")


def redirect_to(uri: str, error: str | None, state: str, code: str | None = None) -> str:
    """The client's redirect URI with the code (or the error) and the state."""
    params = {"error": error} if error else {"code": code or ""}
    if state:
        params["state"] = state
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


def _granted_scopes(requested: tuple[str, ...], persona: Persona) -> tuple[str, ...]:
    """The context scopes asked for, and the persona's resource scopes (all of them unless
    some were asked for: then those of them the persona has)."""
    context = tuple(s for s in requested if s in CONTEXT_SCOPES)
    asked = [s for s in requested if s not in CONTEXT_SCOPES]
    resource = tuple(s for s in asked if s in persona.scopes) if asked else persona.scopes
    return context + (resource or persona.scopes)


def _care_relationship(
    details: str | None, default_purpose: str | None
) -> tuple[str | None, str | None, str | None]:
    """(purpose of use, reason, patient national ID) from `authorization_details`."""
    attestation = authorization_details(details)
    if attestation is None:
        return default_purpose, None, None
    care = attestation.get("care_relationship") or {}
    patients = attestation.get("patients") or []
    first = patients[0] if isinstance(patients, list) and patients else {}
    purpose = _text(care, "purpose_of_use", "code")
    return (
        purpose.upper() if purpose else None,
        _text(care, "purpose_of_use_details", "text"),
        _text(first, "identifier", "id"),
    )


def _text(obj: Any, *path: str) -> str | None:
    for step in path:
        obj = obj.get(step) if isinstance(obj, dict) else None
    return obj.strip() if isinstance(obj, str) and obj.strip() else None
