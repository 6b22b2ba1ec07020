"""Signing summaries: a detached JWS (RFC 7515 appendix F) in `Bundle.signature`.

The signed content is the canonical JSON of the Bundle without `signature` (keys sorted,
no whitespace, UTF-8). The JWS is ES256 with the platform's summary key, kept in
`<data dir>/summary-signing/signing-key.json` (created on first use, mode 0600; separate
from the development issuer's key); its public half is published as a JWKS
(`$summary-signing-keys`). `verify` checks a saved summary against a JWKS.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from joserfc import jwk, jws
from joserfc.errors import JoseError

KEY_FILE = "summary-signing/signing-key.json"
ALGORITHM = "ES256"
#: the ASTM E1762-95 signature type: the platform verifies, it does not author
SIGNATURE_TYPE = {
    "system": "urn:iso-astm:E1762-95:2013",
    "code": "1.2.840.10065.1.12.1.5",
    "display": "Verification Signature",
}


class SignatureInvalid(ValueError):
    """A summary whose signature is missing, malformed or does not match its content."""


def key_directory() -> Path:
    """The data directory of this process (`SAMHANDLING_DATA_DIR`, default `data`)."""
    return Path(os.environ.get("SAMHANDLING_DATA_DIR", "data"))


def signing_key(data_dir: Path | None = None, *, create: bool = True) -> jwk.ECKey:
    """The platform's summary signing key, created on first use (FileNotFoundError when
    there is none and `create` is off)."""
    path = (data_dir or key_directory()) / KEY_FILE
    if not path.exists() and not create:
        raise FileNotFoundError(f"no summary signing key in {path.parent}")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = jwk.ECKey.generate_key("P-256", private=True, auto_kid=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(json.dumps(key.as_dict(private=True)))
        except FileExistsError:
            pass  # another process made it first: use theirs
    loaded = jwk.ECKey.import_key(json.loads(path.read_text()))
    loaded.ensure_kid()
    return loaded


def jwks(data_dir: Path | None = None, *, create: bool = True) -> dict[str, Any]:
    """The public JWKS of the summary signing key."""
    public = dict(signing_key(data_dir, create=create).as_dict(private=False))
    public.update({"use": "sig", "alg": ALGORITHM})
    return {"keys": [public]}


def canonical(bundle: dict[str, Any]) -> bytes:
    """The signed bytes: the Bundle without `signature`, canonical JSON."""
    unsigned = {k: v for k, v in bundle.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(bundle: dict[str, Any], who: str, now: datetime, data_dir: Path | None = None) -> None:
    """Put a detached JWS over `bundle` into `bundle.signature` (in place); `who` is a
    reference inside the Bundle (the platform's Organization)."""
    key = signing_key(data_dir)
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": "JOSE", "cty": "application/fhir+json"}
    compact = jws.serialize_compact(header, canonical(bundle), key, algorithms=[ALGORITHM])
    protected, _, signature = compact.split(".")
    detached = f"{protected}..{signature}"
    bundle["signature"] = {
        "type": [SIGNATURE_TYPE],
        "when": now.isoformat(timespec="seconds"),
        "who": {"reference": who},
        "sigFormat": "application/jose",
        "data": base64.b64encode(detached.encode()).decode(),
    }


def verify(bundle: dict[str, Any], keys: dict[str, Any]) -> str:
    """The `kid` that signed `bundle`; SignatureInvalid when it does not verify."""
    signature = bundle.get("signature")
    if not isinstance(signature, dict) or not isinstance(signature.get("data"), str):
        raise SignatureInvalid("the summary has no signature")
    if signature.get("sigFormat") != "application/jose":
        raise SignatureInvalid("the signature is not a JWS (sigFormat application/jose)")
    try:
        detached = base64.b64decode(signature["data"], validate=True).decode()
        key_set = jwk.KeySet.import_key_set(keys)  # type: ignore[arg-type]
        found = jws.deserialize_compact(
            detached, key_set, algorithms=[ALGORITHM], payload=canonical(bundle)
        )
    except (JoseError, ValueError) as exc:
        raise SignatureInvalid(
            f"the signature does not verify: {exc or type(exc).__name__}"
        ) from None
    return str(found.headers().get("kid", ""))
