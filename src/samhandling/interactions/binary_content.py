"""Binary content kept outside the resource rows (IHE MHD ITI-65 and ITI-68).

A Binary whose bytes live in the content store (`store/document_content.py`) carries no
`data`; its `meta.extension` names the content instead (SHA-256, SHA-1, size), so the row
stays small however large the document. Raw bodies (`POST /Binary` with a non-FHIR
Content-Type) stream into a `ContentSpool` and become such a Binary (`create_from_spool`);
`binary_for_retrieval` reads one for ITI-68 under the caller's guard and checks the stored
bytes against their SHA-256 before anything is served; `content_pieces` then yields the
requested bytes in bounded pieces, one short read transaction each.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from samhandling.access_guard import AccessGuard
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import crud, read
from samhandling.store import document_content
from samhandling.store.document_content import ContentInfo, ContentSpool, ContentTooLarge
from samhandling.store.records import StoredVersion
from samhandling.store.version_writer import VersionWriter

__all__ = [
    "CONTENT_EXTENSION",
    "ContentInfo",
    "ContentSpool",
    "ContentTooLarge",
    "Retrieval",
    "binary_as_fhir",
    "binary_for_retrieval",
    "content_pieces",
    "content_reference",
    "create_from_spool",
    "externalised",
    "with_content_reference",
]

CONTENT_EXTENSION = "https://samhandling.no/fhir/StructureDefinition/document-content"


def content_reference(binary: dict[str, Any] | None) -> ContentInfo | None:
    """The stored content a Binary names in `meta.extension`, or None."""
    meta = (binary or {}).get("meta")
    for extension in (meta.get("extension") if isinstance(meta, dict) else None) or []:
        if not isinstance(extension, dict) or extension.get("url") != CONTENT_EXTENSION:
            continue
        parts = {
            e.get("url"): e.get("valueString", e.get("valueUnsignedInt"))
            for e in extension.get("extension") or []
            if isinstance(e, dict)
        }
        sha256, sha1, size = parts.get("sha256"), parts.get("sha1"), parts.get("size")
        if isinstance(sha256, str) and isinstance(sha1, str) and isinstance(size, int):
            return ContentInfo(sha256, sha1, size)
    return None


def with_content_reference(binary: dict[str, Any], info: ContentInfo) -> dict[str, Any]:
    """`binary` without `data`, naming the stored content `info` instead."""
    meta = dict(binary.get("meta") or {})
    kept = [e for e in meta.get("extension") or [] if e.get("url") != CONTENT_EXTENSION]
    reference = {
        "url": CONTENT_EXTENSION,
        "extension": [
            {"url": "sha256", "valueString": info.sha256},
            {"url": "sha1", "valueString": info.sha1},
            {"url": "size", "valueUnsignedInt": info.size},
        ],
    }
    meta["extension"] = [*kept, reference]
    changed = {k: v for k, v in binary.items() if k != "data"}
    changed["meta"] = meta
    return changed


def externalised(connection: Connection, binary: dict[str, Any]) -> dict[str, Any]:
    """A Binary with inline base64 `data` as one naming its bytes in the content store
    (stored in the caller's transaction); unchanged when it has no data."""
    data = binary.get("data")
    if not isinstance(data, str):
        return binary
    try:  # R4 base64Binary allows whitespace between the groups (the official example has)
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise FhirError(400, error("invalid", "Binary.data is not base64", "Binary.data")) from None
    return with_content_reference(binary, document_content.put_bytes(connection, raw))


def create_from_spool(
    writer: VersionWriter,
    spool: ContentSpool,
    content_type: str,
    security_context: str | None,
) -> crud.WriteResult:
    """Store the spooled bytes and create the Binary naming them (write rules apply)."""
    info = document_content.put_spool(writer.connection, spool)
    binary: dict[str, Any] = {"resourceType": "Binary", "contentType": content_type}
    if security_context:
        binary["securityContext"] = {"reference": security_context}
    return crud.create(writer, with_content_reference(binary, info))


@dataclass(frozen=True)
class Retrieval:
    """A Binary the caller may read, and its verified content (None: inline `data`)."""

    version: StoredVersion
    content: ContentInfo | None
    inline: bytes | None

    @property
    def size(self) -> int:
        if self.content is not None:
            return self.content.size
        return len(self.inline or b"")

    @property
    def content_type(self) -> str:
        value = self.version.resource().get("contentType")
        return value if isinstance(value, str) and value else "application/octet-stream"


def binary_for_retrieval(connection: Connection, binary_id: str, guard: AccessGuard) -> Retrieval:
    """The Binary under the caller's guard, its stored bytes checked against their SHA-256:
    a mismatch (or missing bytes) is a 500 and nothing is served."""
    version = read.read(connection, "Binary", binary_id, guard)
    binary = version.resource()
    info = content_reference(binary)
    if info is None:
        data = binary.get("data")
        raw = base64.b64decode(data) if isinstance(data, str) else b""
        return Retrieval(version, None, raw)
    stored = document_content.content_info(connection, info.sha256)
    if stored is None or stored.size != info.size or not document_content.verify(connection, info):
        message = f"The stored content of Binary/{binary_id} fails its integrity check"
        raise FhirError(500, error("exception", message))
    return Retrieval(version, info, None)


def binary_as_fhir(
    connection: Connection, binary_id: str, guard: AccessGuard, max_bytes: int
) -> tuple[StoredVersion, dict[str, Any]]:
    """The Binary as a FHIR resource with its bytes inline in `data` (R4), read and checked
    like a retrieval; content larger than `max_bytes` (the FHIR JSON limit) is a 413 that
    points to the raw retrieval."""
    retrieval = binary_for_retrieval(connection, binary_id, guard)
    resource = retrieval.version.resource()
    if retrieval.content is None:
        return retrieval.version, resource
    if retrieval.content.size > max_bytes:
        message = (
            f"Binary/{binary_id} holds {retrieval.content.size} bytes, more than a FHIR JSON "
            "answer may; ask for its own media type (Accept) to retrieve it raw"
        )
        raise FhirError(413, error("too-costly", message))
    data = b"".join(
        document_content.read_range(connection, retrieval.content.sha256, 0, retrieval.size)
    )
    meta = dict(resource.get("meta") or {})
    kept = [e for e in meta.get("extension") or [] if e.get("url") != CONTENT_EXTENSION]
    if kept:
        meta["extension"] = kept
    else:
        meta.pop("extension", None)
    inline = {**resource, "meta": meta, "data": base64.b64encode(data).decode()}
    return retrieval.version, inline


def content_pieces(engine: Engine, retrieval: Retrieval, start: int, end: int) -> Iterator[bytes]:
    """The bytes [start, end) of a retrieval, each piece read in its own short transaction
    (content is immutable: its key is its hash)."""
    if retrieval.content is None:
        yield (retrieval.inline or b"")[start:end]
        return
    from samhandling.interactions.transactions import read_transaction

    position = start
    while position < end:
        upto = min(end, (position // document_content.CHUNK + 1) * document_content.CHUNK)
        with read_transaction(engine) as connection:
            pieces = list(
                document_content.read_range(connection, retrieval.content.sha256, position, upto)
            )
        yield from pieces
        position = upto
