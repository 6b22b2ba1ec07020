"""Small JOSE helpers shared by the token, DPoP and client-assertion verifiers.

`peek` reads the header and claims of a compact JWS *without* trusting them (to choose the
issuer and key); `verify_signature` then checks the signature with an allow-listed
algorithm and returns the claims of the verified payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from joserfc import jwk, jws
from joserfc.errors import JoseError

MAX_COMPACT_LENGTH = 16 * 1024


class JoseInvalid(ValueError):
    """A malformed or unverifiable JWS; the message is safe to show."""


@dataclass(frozen=True)
class Unverified:
    """Header and claims of a compact JWS, not yet verified."""

    header: dict[str, Any]
    claims: dict[str, Any]


def b64url_decode(segment: str) -> bytes:
    """Base64url without padding → bytes (JoseInvalid on bad input)."""
    # One regex match: a generator over the characters cost half of a token's verification.
    if _B64URL.fullmatch(segment) is None:
        raise JoseInvalid("malformed base64url segment")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JoseInvalid("malformed base64url segment") from exc


_B64URL = re.compile(r"[A-Za-z0-9_-]+")


def b64url_encode(data: bytes) -> str:
    """Bytes → base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sha256_b64url(text: str) -> str:
    """base64url(SHA-256(text)), as used by DPoP `ath`."""
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(segment))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JoseInvalid("segment is not JSON") from exc
    if not isinstance(value, dict):
        raise JoseInvalid("segment is not a JSON object")
    return value


def peek(compact: str) -> Unverified:
    """Split a compact JWS and decode header and claims without verifying anything."""
    if len(compact) > MAX_COMPACT_LENGTH:
        raise JoseInvalid("token too large")
    parts = compact.split(".")
    if len(parts) != 3 or not parts[2]:
        raise JoseInvalid("not a signed JWT in compact serialization")
    return Unverified(_json_object(parts[0]), _json_object(parts[1]))


def check_algorithm(header: dict[str, Any], allowed: Collection[str]) -> str:
    """The header's `alg` if it is allow-listed (never none, never HMAC)."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in allowed:
        raise JoseInvalid(f"algorithm {str(alg)[:20]!r} is not accepted")
    if header.get("crit"):
        raise JoseInvalid("critical header parameters are not supported")
    return alg


def verify_signature(compact: str, key: jwk.Key, alg: str) -> dict[str, Any]:
    """Verify the signature with `key` and exactly `alg`; return the verified claims."""
    try:
        registry = jws.JWSRegistry(algorithms=[alg], strict_check_header=False)
        registry.max_header_length = 4096  # DPoP proofs carry an RSA jwk in the header
        obj = jws.deserialize_compact(compact, key, registry=registry)
    except JoseError as exc:
        raise JoseInvalid("signature verification failed") from exc
    try:
        claims = json.loads(obj.payload)
    except (TypeError, ValueError) as exc:
        raise JoseInvalid("payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise JoseInvalid("payload is not a JSON object")
    return claims


def typ_matches(header: dict[str, Any], accepted: Collection[str]) -> bool:
    """Whether the header's `typ` is one of `accepted` (case-insensitive)."""
    typ = header.get("typ")
    return isinstance(typ, str) and typ.lower() in {a.lower() for a in accepted}


def numeric(claims: dict[str, Any], name: str) -> float | None:
    """A NumericDate claim as a number; JoseInvalid if present but not a number."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JoseInvalid(f"claim {name} is not a number")
    return float(value)
