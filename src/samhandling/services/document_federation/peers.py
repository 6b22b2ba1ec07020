"""The peers: other collaboration areas' MHD endpoints, named in a JSON file.

`SAMHANDLING_DOCUMENT_PEERS` (or `serve --document-peers`) names the file:

    {"peers": [{"name": "area-a",
                "base_url": "https://a.example/fhir",
                "token_url": "https://a.example/dev-issuer/token",
                "client_id": "federation-area-b",
                "private_key_file": "/etc/samhandling/peer-area-a.jwk.json",
                "scope": "system/DocumentReference.rs system/Binary.r",
                "timeout_seconds": 5}]}

Each peer has its own credentials: OAuth 2 client credentials with `private_key_jwt` at the
peer's token endpoint, signed with the private JWK in `private_key_file` (the secret stays
out of the configuration file and out of every `repr` and log line). `scope` is optional
(the issuer's default for the client otherwise); `timeout_seconds` bounds everything one
search asks of the peer (its token included), default 5.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwk

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_TIMEOUT_SECONDS = 60.0


class PeerConfigurationError(ValueError):
    """The peers file cannot be used; the message names the peer and the field."""


@dataclass(frozen=True)
class Peer:
    """One peer: where it answers, how the gateway authenticates, how long it waits."""

    name: str
    base_url: str
    token_url: str
    client_id: str
    key: jwk.Key = field(repr=False, compare=False)
    scope: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def algorithm(self) -> str:
        """The client assertion's signing algorithm, from the key's type."""
        return "ES256" if self.key.key_type == "EC" else "RS256"


def load_peers(path: str | Path) -> tuple[Peer, ...]:
    """The peers named in the JSON file at `path` (PeerConfigurationError when unusable)."""
    file = Path(path)
    try:
        document = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise PeerConfigurationError(f"the peers file {file} cannot be read: {exc}") from None
    entries = document.get("peers") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise PeerConfigurationError(f"the peers file {file} needs a list 'peers'")
    peers = tuple(peer_of(entry, file.parent) for entry in entries)
    names = [p.name for p in peers]
    if len(set(names)) != len(names):
        raise PeerConfigurationError(f"two peers have the same name: {sorted(names)}")
    return peers


def peer_of(entry: Any, folder: Path) -> Peer:
    """One peer from its entry; a relative key file is relative to the peers file."""
    if not isinstance(entry, dict):
        raise PeerConfigurationError("each peer is a JSON object")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise PeerConfigurationError(f"peer name {name!r} must match {NAME.pattern}")
    base_url = _url(entry, "base_url", name).rstrip("/")
    token_url = _url(entry, "token_url", name)
    client_id = entry.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise PeerConfigurationError(f"peer {name}: client_id is required")
    timeout = entry.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT_SECONDS:
        raise PeerConfigurationError(
            f"peer {name}: timeout_seconds must be above 0 and at most {MAX_TIMEOUT_SECONDS:g}"
        )
    scope = entry.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise PeerConfigurationError(f"peer {name}: scope must be a string")
    key = _private_key(entry.get("private_key_file"), folder, name)
    return Peer(name, base_url, token_url, client_id, key, scope or None, float(timeout))


def _url(entry: dict[str, Any], key: str, name: str) -> str:
    value = entry.get(key)
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise PeerConfigurationError(f"peer {name}: {key} must be an http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise PeerConfigurationError(f"peer {name}: {key} takes no query, fragment or user")
    assert isinstance(value, str)
    return value


def _private_key(value: Any, folder: Path, name: str) -> jwk.Key:
    if not isinstance(value, str) or not value:
        raise PeerConfigurationError(f"peer {name}: private_key_file is required")
    path = folder / value
    try:
        key = jwk.import_key(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        # never the file's content: it is a secret
        raise PeerConfigurationError(f"peer {name}: {path} holds no usable private JWK") from None
    if key.key_type not in ("EC", "RSA") or not key.is_private:
        raise PeerConfigurationError(f"peer {name}: {path} must hold a private EC or RSA JWK")
    key.ensure_kid()
    return key
