"""The cursor of a federated answer's next page: where each area stands, sealed.

A merged searchset's `next` link is `[base]/{type}?_federated=<cursor>`. The cursor holds
the consumer's search, this area's own next page (its paging parameters), each peer's
`next` URL, the totals the areas reported, how many documents were left out so far, and
fingerprints of the documents already listed (for de-duplication across pages). It is
opaque and cannot be altered: AES-256-GCM under a key derived (HKDF) from the gateway's
key in the data directory, so the consumer can neither read it (the peers' links and the
search name the patient's national ID) nor change a byte of it (the GCM tag is the MAC).
It is good for the consumer it was handed to (issuer, subject, national ID and client of
the token; compared after opening) and for `PAGE_LIFETIME` seconds.

Opening: unreadable or altered → 400, another consumer → 403, expired → 410 (the same as
an expired local search cursor).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import zlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from samhandling.auth.principal import Principal
from samhandling.fhir.outcome import FhirError, error

PAGE_PARAMETER = "_federated"
#: as long as a local search's cached pages (search/paging.py CACHE_SECONDS)
PAGE_LIFETIME = 3600
NONCE_BYTES = 12
VERSION = 1
#: the longest cursor opened (a sealed one stays far below: the fingerprints are capped)
MAX_CURSOR_CHARS = 8000


@dataclass
class FederatedPage:
    """Where a federated answer stands after one page (see the module doc)."""

    resource_type: str
    search: list[tuple[str, str]]  # the consumer's search, paging and format left out
    local: list[tuple[str, str]] | None  # this area's next page's paging; None: no more
    peers: dict[str, str]  # peer name → its next page's URL
    totals: dict[str, int] = field(default_factory=dict)  # "" this area, else a peer
    left_out: int = 0  # duplicates and withheld documents on all pages so far
    listed_here: bytes = b""  # fingerprints of this area's documents listed so far
    listed_remote: bytes = b""  # … and of the peers'

    def as_json(self, consumer: str, expires: int) -> dict[str, Any]:
        return {
            "v": VERSION,
            "c": consumer,
            "e": expires,
            "t": self.resource_type,
            "q": self.search,
            "l": self.local,
            "p": self.peers,
            "n": self.totals,
            "x": self.left_out,
            "h": base64.b64encode(self.listed_here).decode(),
            "r": base64.b64encode(self.listed_remote).decode(),
        }


def consumer_binding(principal: Principal | None) -> str:
    """Whom a page link is good for: the token's issuer, subject, person and client."""
    if principal is None:
        return "-"
    parts = (principal.issuer, principal.subject, principal.pid, principal.client.client_id)
    return "\n".join(part or "-" for part in parts)


class PageSeal:
    """Seals and opens the cursors of federated pages under one gateway key."""

    def __init__(self, key: bytes) -> None:
        derive = HKDF(hashes.SHA256(), 64, salt=None, info=b"samhandling-federated-page")
        material = derive.derive(key)
        self._cipher = AESGCM(material[:32])
        self._consumer_key = material[32:]

    def seal(self, page: FederatedPage, principal: Principal | None, now: float) -> str:
        """The cursor of `page`, for this consumer only, expiring in `PAGE_LIFETIME`."""
        body = page.as_json(self._fingerprint(principal), int(now) + PAGE_LIFETIME)
        packed = zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 9)
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._cipher.encrypt(nonce, packed, None)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open(self, cursor: str, principal: Principal | None, now: float) -> FederatedPage:
        """The page `cursor` names; FhirError 400 (altered), 403 (another consumer's) or
        410 (expired)."""
        body = self._unsealed(cursor)
        try:
            page, consumer, expires = _page_of(body)
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise _altered() from None
        if not hmac.compare_digest(consumer, self._fingerprint(principal)):
            message = "This page link was handed to another consumer; search again"
            raise FhirError(403, error("forbidden", message, PAGE_PARAMETER))
        if expires < now:
            message = "This page link has expired; search again"
            raise FhirError(410, error("not-found", message, PAGE_PARAMETER))
        return page

    def _unsealed(self, cursor: str) -> Any:
        if not cursor.isascii() or len(cursor) > MAX_CURSOR_CHARS:
            raise _altered()
        try:
            sealed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
            packed = self._cipher.decrypt(nonce, ciphertext, None)
            return json.loads(zlib.decompress(packed))
        except (ValueError, InvalidTag, zlib.error, binascii.Error):
            raise _altered() from None

    def _fingerprint(self, principal: Principal | None) -> str:
        binding = consumer_binding(principal).encode()
        return hmac.new(self._consumer_key, binding, hashlib.sha256).hexdigest()[:32]


def _page_of(body: Any) -> tuple[FederatedPage, str, int]:
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise ValueError("not a page")
    local = body["l"]
    page = FederatedPage(
        resource_type=_text(body["t"]),
        search=_pairs(body["q"]),
        local=None if local is None else _pairs(local),
        peers={_text(k): _text(v) for k, v in dict(body["p"]).items()},
        totals={_text(k): int(v) for k, v in dict(body["n"]).items()},
        left_out=int(body["x"]),
        listed_here=base64.b64decode(_text(body["h"]), validate=True),
        listed_remote=base64.b64decode(_text(body["r"]), validate=True),
    )
    return page, _text(body["c"]), int(body["e"])


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _pairs(value: Any) -> list[tuple[str, str]]:
    return [(_text(k), _text(v)) for k, v in list(value)]


def _altered() -> FhirError:
    message = "This page link is not one this server handed out (altered or malformed)"
    return FhirError(400, error("invalid", message, PAGE_PARAMETER))
