"""The documents a federated answer has listed, remembered by fingerprint.

A document is the same as one listed before when it has the same `masterIdentifier`
(system and value; IHE's uniqueId), or, without one, any shared `identifier`. Each is
remembered as 8 bytes of BLAKE2b (finding another identifier with the same fingerprint as
a given one takes some 2^64 tries), this area's and the peers' apart, and at most
`MAX_REMEMBERED` of them travel in a page's cursor (the peers' first).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

FINGERPRINT_BYTES = 8
#: fingerprints a page's cursor carries: de-duplication across pages covers the
#: identifiers listed first, up to this many
MAX_REMEMBERED = 200


@dataclass
class SeenDocuments:
    """The documents listed so far, by fingerprints of their master identifier and their
    identifiers: this area's and the peers' apart (insertion-ordered)."""

    here: dict[bytes, None] = field(default_factory=dict)
    remote: dict[bytes, None] = field(default_factory=dict)

    def listed(self, resource: dict[str, Any], *, remotely_only: bool = False) -> bool:
        """Whether `resource` is a document already listed (see the module doc)."""
        master, identifiers = fingerprints(resource)
        known = (self.remote,) if remotely_only else (self.remote, self.here)
        if master is not None:
            return any(master in found for found in known)
        return any(fp in found for fp in identifiers for found in known)

    def add(self, resource: dict[str, Any], *, remote: bool) -> None:
        master, identifiers = fingerprints(resource)
        target = self.remote if remote else self.here
        target.update(dict.fromkeys([master] if master else []))
        target.update(dict.fromkeys(identifiers))

    def packed(self) -> tuple[bytes, bytes]:
        """This area's and the peers' fingerprints for a cursor, the peers' first, at most
        `MAX_REMEMBERED` in all."""
        remote = list(self.remote)[:MAX_REMEMBERED]
        here = list(self.here)[: MAX_REMEMBERED - len(remote)]
        return b"".join(here), b"".join(remote)

    @classmethod
    def unpacked(cls, here: bytes, remote: bytes) -> SeenDocuments:
        return cls(dict.fromkeys(_split(here)), dict.fromkeys(_split(remote)))


def _split(packed: bytes) -> list[bytes]:
    size = FINGERPRINT_BYTES
    return [packed[i : i + size] for i in range(0, len(packed) - size + 1, size)]


def fingerprints(resource: dict[str, Any]) -> tuple[bytes | None, list[bytes]]:
    """The fingerprints of a document's master identifier and of its identifiers."""
    master = _token(resource.get("masterIdentifier"))
    return (
        _fingerprint("m", master) if master is not None else None,
        [_fingerprint("i", token) for token in _identifiers(resource)],
    )


def _fingerprint(kind: str, token: str) -> bytes:
    text = f"{kind}|{token}".encode()
    return hashlib.blake2b(text, digest_size=FINGERPRINT_BYTES).digest()


def _token(identifier: Any) -> str | None:
    if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
        return None
    return f"{identifier.get('system', '')}|{identifier['value']}"


def _identifiers(resource: dict[str, Any]) -> list[str]:
    found = resource.get("identifier")
    tokens = (_token(i) for i in (found if isinstance(found, list) else []))
    return [t for t in tokens if t is not None]
