"""The built-in development authorization server (never in production).

Its signing key lives in `<data_dir>/dev-issuer/signing-key.json` (created on first use,
ES256 by default, file mode 0600), so `samhandling token` and a server started on the
same machine share it. It issues HelseID-shaped tokens (iss = `issuer_url`) for the
clinician and system personas and ID-porten-shaped tokens (iss = `issuer_url/idporten`)
for the citizen personas; `trusted_issuers()` gives the matching TrustedIssuer entries.
Registered clients (`clients.json`) use the token endpoint with `client_credentials` and
`private_key_jwt`; see `token_endpoint`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from joserfc import jwk, jwt

from samhandling.auth import claims as c
from samhandling.auth.dev.personas import Persona, acting_for
from samhandling.auth.dev.personas import persona as get_persona
from samhandling.auth.dev.token_endpoint import TokenEndpoint, TokenEndpointError
from samhandling.auth.principal import EMERGENCY_PURPOSES, PURPOSES
from samhandling.auth.settings import AuthSettings, TrustedIssuer

__all__ = ["DEV_AUDIENCE", "DevIssuer", "DevIssuerDisabled", "TokenEndpointError"]

DEV_AUDIENCE = "samhandling"
PRODUCTION_ENV_VARS = ("SAMHANDLING_ENV", "SAMHANDLING_MODE")
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
ORGNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"
RESH_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.102"
AUTHORIZATION_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.9060"
SERVICE_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.8655"
PURPOSE_SYSTEM = "urn:oid:2.16.840.1.113883.1.11.20448"
DEFAULT_EMERGENCY_REASON = "Akutt behandling (utviklingstoken)"


class DevIssuerDisabled(RuntimeError):
    """The development issuer refuses to run in production mode."""


def is_production(explicit: bool = False) -> bool:
    """Production mode: asked for explicitly, or SAMHANDLING_ENV/MODE = prod(uction)."""
    values = {os.environ.get(v, "").strip().lower() for v in PRODUCTION_ENV_VARS}
    return explicit or bool(values & {"prod", "production"})


def _write_new(path: Path, text: str) -> bool:
    """Create `path` atomically with mode 0600; False when it already exists."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: exclusive create instead
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        return True
    finally:
        os.unlink(tmp)


class DevIssuer:
    """Key material, JWKS, minting and the token endpoint of the dev issuer."""

    def __init__(
        self,
        data_dir: Path,
        issuer_url: str,
        *,
        audience: str = DEV_AUDIENCE,
        algorithm: Literal["ES256", "RS256"] = "ES256",
        production: bool = False,
    ) -> None:
        if is_production(production):
            raise DevIssuerDisabled("the development issuer must not run in production mode")
        self.directory = Path(data_dir) / "dev-issuer"
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.issuer_url = issuer_url.rstrip("/")
        self.audience = audience
        self._key = self._load_or_create_key(algorithm)
        self.endpoint = TokenEndpoint(self, self.directory / "clients.json")

    @property
    def citizen_issuer_url(self) -> str:
        """The `iss` of citizen tokens (the ID-porten-like twin)."""
        return self.issuer_url + "/idporten"

    @property
    def token_url(self) -> str:
        """The token endpoint's URL."""
        return self.issuer_url + "/token"

    @property
    def algorithm(self) -> str:
        """The signing algorithm of the key."""
        return "ES256" if self._key.key_type == "EC" else "RS256"

    def _load_or_create_key(self, algorithm: str) -> jwk.Key:
        path = self.directory / "signing-key.json"
        if not path.exists():
            key: jwk.Key
            if algorithm == "RS256":
                key = jwk.RSAKey.generate_key(2048, auto_kid=True)
            else:
                key = jwk.ECKey.generate_key("P-256", auto_kid=True)
            _write_new(path, json.dumps(key.as_dict(private=True)))
        loaded = jwk.import_key(json.loads(path.read_text()))
        loaded.ensure_kid()
        return loaded

    def jwks(self) -> dict[str, Any]:
        """The public JWKS."""
        public = self._key.as_dict(private=False)
        public.update({"use": "sig", "alg": self.algorithm})
        return {"keys": [public]}

    def trusted_issuers(self) -> tuple[TrustedIssuer, TrustedIssuer]:
        """The HelseID-like and ID-porten-like issuers to trust, with the static JWKS."""
        keys = self.jwks()
        return (
            TrustedIssuer(self.issuer_url, None, "helseid", static_jwks=keys),
            TrustedIssuer(self.citizen_issuer_url, None, "idporten", static_jwks=keys),
        )

    def auth_settings(self, **overrides: Any) -> AuthSettings:
        """AuthSettings that trust this issuer (and its citizen twin) for `audience`."""
        return AuthSettings(issuers=self.trusted_issuers(), audience=self.audience, **overrides)

    def openid_configuration(self, *, citizen: bool = False) -> dict[str, Any]:
        """The discovery document of the issuer (or of its citizen twin)."""
        return {
            "issuer": self.citizen_issuer_url if citizen else self.issuer_url,
            "jwks_uri": self.issuer_url + "/jwks",
            "token_endpoint": self.token_url,
            "authorization_endpoint": self.issuer_url + "/authorize",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": [self.algorithm],
            "subject_types_supported": ["pairwise"],
            "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": [
                "private_key_jwt",
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
            "dpop_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
            "authorization_details_types_supported": [c.TRUST_FRAMEWORK],
            "scopes_supported": [
                "openid",
                "profile",
                "launch/patient",
                "offline_access",
                "user/*.crus",
                "patient/*.rs",
                "system/*.cruds",
            ],
        }

    def attestation_for(
        self, p: Persona, purpose: str | None, reason: str | None, patient_fnr: str | None
    ) -> dict[str, Any]:
        """A clinician's attestation for the code flow: the persona's practitioner part and
        the care relationship asked for; without `purpose` it names none (the policy then
        shows the clinician no patient data). An emergency purpose needs a reason."""
        if purpose is None:
            attestation = _attestation(p, "TREAT", patient_fnr, None)
            attestation["care_relationship"].pop("purpose_of_use")
            return attestation
        if purpose not in PURPOSES:
            raise TokenEndpointError("invalid_authorization_details", "unknown purpose of use")
        if purpose in EMERGENCY_PURPOSES and not (reason or "").strip():
            raise TokenEndpointError(
                "invalid_authorization_details", "emergency access needs a reason"
            )
        if patient_fnr is not None and not (len(patient_fnr) == 11 and patient_fnr.isdigit()):
            raise TokenEndpointError("invalid_authorization_details", "bad patient identifier")
        return _attestation(p, purpose, patient_fnr, reason)

    def id_token(self, access_claims: dict[str, Any], client_id: str, nonce: str | None) -> str:
        """The OpenID Connect ID token beside an access token (Core §2): `aud` the client."""
        claims = {
            "iss": access_claims["iss"],
            "sub": access_claims["sub"],
            "aud": client_id,
            "iat": access_claims["iat"],
            "exp": access_claims["exp"],
            "auth_time": access_claims["iat"],
            "name": access_claims.get("name"),
        }
        if nonce:
            claims["nonce"] = nonce
        header = {"alg": self.algorithm, "kid": self._key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self._key, algorithms=[self.algorithm])

    def web_client_secret(self) -> str:
        """The secret of the platform's own web views as a client of this issuer (kept
        beside the signing key, mode 0600, so that every worker shares it)."""
        path = self.directory / "web-client-secret"
        if not path.exists():
            _write_new(path, secrets.token_urlsafe(32))
        return path.read_text().strip()

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign an access token (typ at+jwt) with the issuer key."""
        header = {"alg": self.algorithm, "kid": self._key.kid, "typ": "at+jwt"}
        return jwt.encode(header, claims, self._key, algorithms=[self.algorithm])

    def mint(
        self,
        persona: str,
        *,
        patient_fnr: str | None = None,
        purpose: str | None = None,
        dpop_jkt: str | None = None,
        lifetime: int = 3600,
        reason: str | None = None,
        scopes: tuple[str, ...] | None = None,
        authorization_details: dict[str, Any] | None = None,
        client_id: str | None = None,
    ) -> str:
        """An access token for a persona (see the module doc and `personas`)."""
        return self.sign(
            self.claims_for(
                get_persona(persona),
                patient_fnr=patient_fnr,
                purpose=purpose,
                dpop_jkt=dpop_jkt,
                lifetime=lifetime,
                reason=reason,
                scopes=scopes,
                authorization_details=authorization_details,
                client_id=client_id,
            )
        )

    def claims_for(
        self,
        p: Persona,
        *,
        patient_fnr: str | None,
        purpose: str | None,
        dpop_jkt: str | None,
        lifetime: int,
        reason: str | None,
        scopes: tuple[str, ...] | None,
        authorization_details: dict[str, Any] | None,
        client_id: str | None,
    ) -> dict[str, Any]:
        """The claims of a persona's token."""
        if patient_fnr is not None and (
            len(patient_fnr) != 11 or not (patient_fnr.isascii() and patient_fnr.isdigit())
        ):
            raise ValueError("patient must be an 11-digit national ID number")
        now = int(time.time())
        claims = self._common(p, now, lifetime, scopes, client_id)
        if p.kind == "citizen":
            claims.update(self._citizen(p, patient_fnr))
        else:
            claims.update(_client_claims(p))
            if p.kind == "clinician":
                claims.update(_person_claims(p))
                claims[c.TRUST_FRAMEWORK] = authorization_details or _attestation(
                    p, purpose or "TREAT", patient_fnr, reason
                )
            elif authorization_details:
                claims[c.TRUST_FRAMEWORK] = authorization_details
        if dpop_jkt:
            claims["cnf"] = {"jkt": dpop_jkt}
        return claims

    def _common(
        self,
        p: Persona,
        now: int,
        lifetime: int,
        scopes: tuple[str, ...] | None,
        client_id: str | None,
    ) -> dict[str, Any]:
        return {
            "iss": self.citizen_issuer_url if p.kind == "citizen" else self.issuer_url,
            "aud": self.audience,
            "sub": secrets.token_urlsafe(16) if p.pid is None else _pairwise(p.pid),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            "client_id": client_id or p.client_id,
            "scope": " ".join(scopes if scopes is not None else p.scopes),
        }

    def _citizen(self, p: Persona, patient_fnr: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"acr": "idporten-loa-high", "name": p.display_name}
        represented = p.default_child_pid or p.grantor_pid
        if represented is None:
            out["pid"] = patient_fnr or p.pid
            return out
        out["pid"] = p.pid
        if (patient_fnr or represented) != represented:
            # The persona acts for one person of the demo population (its child, or the
            # adult who gave it a power of attorney); a token for anybody else would claim
            # a relation the population register does not have.
            whom = "child" if p.default_child_pid else "grantor"
            raise ValueError(f"persona {p.name!r} acts for its own {whom} only; omit --patient")
        relation = "parent" if p.default_child_pid else "power-of-attorney"
        out[c.ACTS_FOR] = [acting_for(represented, relation)]
        return out

    def token_endpoint(
        self, form: Mapping[str, str], dpop_header: str | None, url: str
    ) -> dict[str, Any]:
        """Handle a token request (raises TokenEndpointError with an OAuth error)."""
        return self.endpoint.handle(form, dpop_header, url)

    def register_client(
        self, client_id: str, keys: Mapping[str, Any], *, persona_name: str = "system"
    ) -> None:
        """Register (or replace) a client's public key(s) for private_key_jwt."""
        self.endpoint.register(client_id, keys, persona_name)


def _pairwise(pid: str) -> str:
    return hashlib.sha256(("samhandling-dev|" + pid).encode()).hexdigest()[:32]


def _client_claims(p: Persona) -> dict[str, Any]:
    return {
        c.CLIENT_NAME: p.client_name,
        c.CLIENT_TENANCY: "single-tenant",
        c.ORGNR_PARENT: p.legal_entity[0] if p.legal_entity else None,
        c.ORGNR_CHILD: p.point_of_care[0] if p.point_of_care else None,
        c.ORGNR_SUPPLIER: p.orgnr_supplier,
    }


def _person_claims(p: Persona) -> dict[str, Any]:
    given, _, family = p.display_name.partition(" ")
    return {
        c.PID: p.pid,
        c.SECURITY_LEVEL: str(p.security_level),
        c.NETWORK: "helsenett",
        c.HPR_NUMBER: p.hpr_number,
        "name": p.display_name,
        "given_name": given,
        "family_name": family,
    }


def _org(value: tuple[str, str] | None, system: str) -> dict[str, str] | None:
    return {"id": value[0], "name": value[1], "system": system} if value else None


def _attestation(
    p: Persona, purpose: str, patient_fnr: str | None, reason: str | None
) -> dict[str, Any]:
    purpose = purpose.upper()
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(sorted(PURPOSES))}")
    if reason is None and purpose in EMERGENCY_PURPOSES:
        reason = DEFAULT_EMERGENCY_REASON
    care: dict[str, Any] = {
        "purpose_of_use": {"code": purpose, "system": PURPOSE_SYSTEM},
        "decision_ref": {"id": str(uuid.uuid4()), "user_selected": True},
    }
    if p.healthcare_service:
        care["healthcare_service"] = {"code": p.healthcare_service, "system": SERVICE_SYSTEM}
    if reason:
        care["purpose_of_use_details"] = {"text": reason}
    practitioner = {
        "authorization": {"code": p.authorization, "system": AUTHORIZATION_SYSTEM},
        "legal_entity": _org(p.legal_entity, ORGNR_SYSTEM),
        "point_of_care": _org(p.point_of_care, ORGNR_SYSTEM),
        "department": _org(p.department, RESH_SYSTEM),
    }
    patients = [{"identifier": {"id": patient_fnr, "system": FNR_SYSTEM}}] if patient_fnr else []
    return {
        "type": c.TRUST_FRAMEWORK,
        "practitioner": {k: v for k, v in practitioner.items() if v},
        "care_relationship": care,
        "patients": patients,
    }
