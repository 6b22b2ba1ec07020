"""Signing summaries: a detached JWS (RFC 7515 appendix F) in `Bundle.signature`.

The signed content is the canonical JSON of the Bundle without `signature` (keys sorted,
no whitespace, UTF-8). The JWS is ES256 with the platform's summary key, kept in
`<data dir>/summary-signing/` (the first, `signing-key.json`, created on first use; mode
0600; separate from the development issuer's key). Rotation (`rotate`, `samhandling summary
rotate-key`) adds `signing-key-<UTC time>.json`: the newest key signs, and every key's
public half stays in the published JWKS (`$summary-signing-keys`,
`/.well-known/summary-signing-keys.json`), so summaries signed before still verify;
`retire` drops an older key's private half (`samhandling summary retire-key KID`).
`verify` checks a saved summary against a JWKS (the JWS header's `kid` picks the key).
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from joserfc import jwk, jws
from joserfc.errors import JoseError

KEY_DIRECTORY = "summary-signing"
FIRST_KEY = "signing-key.json"  # the key made on first use
ROTATED_KEYS = "signing-key-*.json"  # one per rotation, named by its UTC time
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


def key_files(data_dir: Path | None = None) -> list[Path]:
    """The summary keys of this data directory, oldest first (the last one signs)."""
    directory = (data_dir or key_directory()) / KEY_DIRECTORY
    first = [directory / FIRST_KEY] if (directory / FIRST_KEY).exists() else []
    return first + sorted(directory.glob(ROTATED_KEYS))


def signing_key(data_dir: Path | None = None, *, create: bool = True) -> jwk.ECKey:
    """The platform's summary signing key: the newest one, the first created on first use
    (FileNotFoundError when there is none and `create` is off)."""
    files = key_files(data_dir)
    if not files and not create:
        directory = (data_dir or key_directory()) / KEY_DIRECTORY
        raise FileNotFoundError(f"no summary signing key in {directory}")
    if not files:
        _new_key((data_dir or key_directory()) / KEY_DIRECTORY / FIRST_KEY)
        files = key_files(data_dir)
    return _load(files[-1])


def rotate(now: datetime, data_dir: Path | None = None) -> str:
    """Make a new signing key (it signs from now on; the older ones stay published, so
    what they signed still verifies); its `kid`. The first key is made first if missing."""
    signing_key(data_dir)
    name = ROTATED_KEYS.replace("*", now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ"))
    path = (data_dir or key_directory()) / KEY_DIRECTORY / name
    if path.exists():
        raise FileExistsError(f"a key was made at that very time: {path.name}")
    _new_key(path)
    return str(_load(path).kid)


def retire(kid: str, data_dir: Path | None = None) -> Path:
    """Drop the private half of an older key (it signs no more, its public half stays
    published so what it signed still verifies); the newest key, which signs, cannot be
    retired: rotate first. KeyError for an unknown `kid`."""
    files = key_files(data_dir)
    found = [path for path in files if _load(path).kid == kid]
    if not found:
        raise KeyError(f"no summary signing key {kid}")
    if found[0] == files[-1]:
        raise ValueError(f"key {kid} is the one that signs; rotate before retiring it")
    public = dict(_load(found[0]).as_dict(private=False))
    staged = found[0].with_suffix(".retiring")
    staged.write_text(json.dumps(public))
    staged.chmod(0o600)
    staged.replace(found[0])  # atomic: never a file with neither half
    return found[0]


def _new_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = jwk.ECKey.generate_key("P-256", private=True, auto_kid=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(key.as_dict(private=True)))
    except FileExistsError:
        pass  # another process made it first: use theirs


def _load(path: Path) -> jwk.ECKey:
    loaded = jwk.ECKey.import_key(json.loads(path.read_text()))
    loaded.ensure_kid()
    return loaded


def jwks(data_dir: Path | None = None, *, create: bool = True) -> dict[str, Any]:
    """The public JWKS of every summary signing key, newest first."""
    signing_key(data_dir, create=create)  # makes the first key when there is none
    published = []
    for path in reversed(key_files(data_dir)):
        public = dict(_load(path).as_dict(private=False))
        public.update({"use": "sig", "alg": ALGORITHM})
        published.append(public)
    return {"keys": published}


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
