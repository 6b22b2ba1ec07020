"""The request authenticator: Authorization header → verified token → DPoP → Principal.

`Authorization: Bearer <token>` is accepted for tokens without `cnf.jkt` (unless DPoP is
required); `Authorization: DPoP <token>` needs a DPoP-bound token and a matching `DPoP`
proof header. A DPoP-bound token presented as Bearer is refused (RFC 9449 §7.1). Every
refusal is an AuthError(401) with a `WWW-Authenticate` challenge; failures are logged with
the reason only — never the token, the proof or a full national ID.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping

import httpx

from samhandling.auth.claims import ClaimsInvalid, principal_from_claims
from samhandling.auth.dpop import DPoPInvalid, DPoPVerifier, ReplayCache
from samhandling.auth.errors import AuthError, www_authenticate
from samhandling.auth.jwks import KeySource, RemoteJwks, StaticKeySource
from samhandling.auth.principal import Principal
from samhandling.auth.settings import AuthSettings, TrustedIssuer
from samhandling.auth.tokens import (
    IssuerKeysUnavailable,
    TokenInvalid,
    TokenVerifier,
    VerifiedToken,
)

log = logging.getLogger(__name__)

_CREDENTIALS = re.compile(r"^(?P<scheme>[A-Za-z]+) +(?P<token>[A-Za-z0-9\-._~+/]+=*) *$")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


class Authenticator:
    """Authenticates requests against the configured trusted issuers."""

    def __init__(
        self,
        settings: AuthSettings,
        http_client: httpx.Client | None = None,
        replay_cache: ReplayCache | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._clock = clock
        # An HTTP client only when some issuer's keys must be fetched (it loads the system's
        # certificates: tens of milliseconds an app that trusts only static keys need not pay).
        remote = any(i.static_jwks is None for i in settings.issuers)
        self._http = http_client or (
            httpx.Client(timeout=5.0, follow_redirects=False) if remote else None
        )
        self.key_sources: dict[str, KeySource] = {
            i.issuer: self._source(i) for i in settings.issuers
        }
        self.tokens = TokenVerifier(settings, self.key_sources)
        self.dpop = DPoPVerifier(
            replay_cache,
            max_age_seconds=settings.dpop_max_age_seconds,
            clock_skew_seconds=settings.clock_skew_seconds,
            algorithms=settings.algorithms,
        )

    def _source(self, issuer: TrustedIssuer) -> KeySource:
        if issuer.static_jwks is not None:
            return StaticKeySource(issuer.static_jwks)
        assert issuer.jwks_uri is not None and self._http is not None
        return RemoteJwks(
            issuer.jwks_uri,
            self._http,
            min_refresh_seconds=self.settings.jwks_min_refresh_seconds,
            max_age_seconds=self.settings.jwks_max_age_seconds,
        )

    @property
    def schemes(self) -> tuple[str, ...]:
        """The accepted authorization schemes, in challenge order."""
        return ("DPoP",) if self.settings.require_dpop else ("Bearer", "DPoP")

    def authenticate(self, method: str, url: str, headers: Mapping[str, str]) -> Principal:
        """The Principal of this request, or AuthError(401) with a challenge."""
        scheme, token = self._credentials(headers)
        now = self._clock()
        verified = self._verify_token(token, now)
        jkt = self._check_binding(scheme, verified, token, method, url, headers, now)
        return self._principal(verified, jkt)

    def authenticate_at_hand(
        self, method: str, url: str, headers: Mapping[str, str]
    ) -> Principal | None:
        """As `authenticate`, when that needs no I/O: a remembered Bearer token whose
        issuer's keys are at hand (safe on the event loop). None: only `authenticate` can
        decide (a new token, keys to fetch, or a DPoP proof, whose replay check is stored)."""
        scheme, token = self._credentials(headers)
        if scheme != "bearer":
            return None
        now = self._clock()
        try:
            verified = self.tokens.recall(token, now)
        except TokenInvalid as exc:
            raise self._token_refusal(exc) from exc
        if verified is None:
            return None
        jkt = self._check_binding(scheme, verified, token, method, url, headers, now)
        return self._principal(verified, jkt)

    def _credentials(self, headers: Mapping[str, str]) -> tuple[str, str]:
        """The scheme (lower case) and the token of the Authorization header."""
        authorization = _header(headers, "authorization")
        if not authorization:
            raise self._refuse(None, "authentication required")
        match = _CREDENTIALS.match(authorization)
        scheme = match["scheme"].lower() if match else ""
        if match is None or scheme not in ("bearer", "dpop"):
            raise self._refuse("invalid_request", "malformed Authorization header")
        if scheme == "bearer" and self.settings.require_dpop:
            raise self._refuse("invalid_token", "DPoP-bound tokens are required", "DPoP")
        return scheme, match["token"]

    def _principal(self, verified: VerifiedToken, jkt: str | None) -> Principal:
        """The Principal of the token's claims: built once per remembered token (claims
        refused are refused every time: nothing is remembered of them)."""
        principal = verified.principals.get(jkt)
        if principal is None:
            try:
                principal = principal_from_claims(verified.claims, verified.issuer, dpop_jkt=jkt)
            except ClaimsInvalid as exc:
                raise self._refuse("invalid_token", str(exc)) from exc
            verified.principals[jkt] = principal
        log.debug("authenticated %s via %s", principal.kind, verified.issuer.issuer)
        return principal

    def _verify_token(self, token: str, now: float) -> VerifiedToken:
        try:
            return self.tokens.verify(token, now)
        except TokenInvalid as exc:
            raise self._token_refusal(exc) from exc
        except IssuerKeysUnavailable as exc:
            log.warning("issuer keys unavailable for %s", exc)
            raise AuthError(
                503, "the token issuer's keys are unavailable", error="temporarily_unavailable"
            ) from exc

    def _token_refusal(self, exc: TokenInvalid) -> AuthError:
        error = self._refuse("invalid_token", exc.reason)
        if exc.expired:
            error.issue_code = "expired"
        return error

    def _check_binding(
        self,
        scheme: str,
        verified: VerifiedToken,
        token: str,
        method: str,
        url: str,
        headers: Mapping[str, str],
        now: float,
    ) -> str | None:
        jkt = verified.jkt
        if scheme == "bearer":
            if jkt is not None:
                raise self._refuse("invalid_token", "DPoP-bound token presented as Bearer")
            return None
        if jkt is None:
            raise self._refuse("invalid_token", "token is not DPoP-bound", "DPoP")
        proof = _header(headers, "dpop")
        if not proof:
            raise self._refuse("invalid_dpop_proof", "DPoP proof header is missing", "DPoP")
        try:
            self.dpop.verify(
                proof, method=method, url=url, now=now, access_token=token, expected_jkt=jkt
            )
        except DPoPInvalid as exc:
            raise self._refuse("invalid_dpop_proof", str(exc), "DPoP") from exc
        return jkt

    def _refuse(self, error: str | None, description: str, scheme: str | None = None) -> AuthError:
        # Not logged here: the request's log line carries the refusal (logged once).
        value = www_authenticate(
            self.schemes,
            error=error,
            description=description,
            error_scheme=scheme,
            realm=self.settings.realm,
        )
        return AuthError(401, description, error=error, www_authenticate=value)
