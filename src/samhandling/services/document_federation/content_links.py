"""Links to a peer's content, handed out by the gateway and good for one consumer only.

The gateway reads a peer's content with its own credentials, so it must not fetch whatever
a consumer names (a confused deputy): it follows only links it put into a merged search
answer for that consumer. A link is `{base}/_federation/{peer}/{path}?exp=…&sig=…`, with
`sig` = HMAC-SHA256 over (peer, path, consumer, exp) under a key kept in the data directory
(`federation/content-link.key`, mode 0600, made at first use; every process of one data
directory shares it). A link expires after `LINK_LIFETIME` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import urlencode

from samhandling.auth.principal import Principal

LINK_LIFETIME = 3600
KEY_BYTES = 32


def consumer_of(principal: Principal | None) -> str:
    """Whom a link is good for: the person (national ID), else the client system."""
    if principal is None:
        return "-"
    return principal.pid or f"client:{principal.client.client_id or '-'}"


class ContentLinks:
    """Signs and checks the gateway's links to peer content."""

    def __init__(self, key: bytes, base_url: str) -> None:
        self._key = key
        self.base_url = base_url.rstrip("/")

    @property
    def key(self) -> bytes:
        """The gateway's key (the page cursors derive theirs from it)."""
        return self._key

    @classmethod
    def in_directory(cls, data_dir: Path, base_url: str) -> ContentLinks:
        """The links of the data directory's key (made on first use)."""
        return cls(_key_file(data_dir / "federation" / "content-link.key"), base_url)

    def link(self, peer: str, path: str, consumer: str, now: float) -> str:
        """The gateway URL at which `consumer` may read `path` at `peer`."""
        expires = int(now) + LINK_LIFETIME
        query = urlencode({"exp": expires, "sig": self._sign(peer, path, consumer, expires)})
        return f"{self.base_url}/_federation/{peer}/{path}?{query}"

    def valid(self, peer: str, path: str, consumer: str, exp: str, sig: str, now: float) -> bool:
        """Whether the link was handed to `consumer` and has not expired."""
        if not (exp.isascii() and exp.isdigit()) or int(exp) < now:
            return False
        expected = self._sign(peer, path, consumer, int(exp))
        return hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace"))

    def _sign(self, peer: str, path: str, consumer: str, expires: int) -> str:
        message = "\n".join((peer, path, consumer, str(expires))).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _key_file(path: Path) -> bytes:
    """The key at `path`; made when missing, complete before it appears (a hard link of a
    written file), so that processes starting together share one key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            draft.unlink()
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise RuntimeError(f"{path} does not hold a {KEY_BYTES}-byte key")
    return key
