"""Named queries of the document content store: the bytes of documents, outside the rows.

Content is addressed by its SHA-256 (hex). One `document_content` row per distinct content
(its SHA-1 for IHE MHD's `attachment.hash`, its size) is written in the caller's
transaction on both engines; the bytes live

* on PostgreSQL in `document_content_chunk`, chunks of `CHUNK` bytes (1 MiB) keyed by
  (SHA-256, sequence number), written in the same transaction;
* on SQLite as one file per content in a blob directory beside the database file
  (`<dir>/documents/ab/abcdef…`), moved into place before the transaction commits. A
  transaction that rolls back leaves the file without a row: nothing reads it (the row is
  the content's existence), and the next upload of the same bytes reuses it.

Bytes arrive through a `ContentSpool` (a temporary file with running hashes, so a 50 MB
request body is never held in memory) or as a `bytes` value (a Binary's inline base64 data,
already parsed). They leave in bounded pieces (`read_range`), and `verify` recomputes the
SHA-256 over the stored bytes: a corrupted content is detected before any byte is served.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, insert, select

from samhandling.fhir.instants import now_us
from samhandling.store.advisory_locks import lock_key
from samhandling.store.database import is_sqlite
from samhandling.store.service_tables import document_content, document_content_chunk

CHUNK = 1024 * 1024
BLOB_FOLDER = "documents"


@dataclass(frozen=True)
class ContentInfo:
    """What is known of one stored content without reading it."""

    sha256: str
    sha1: str
    size: int


class ContentTooLarge(Exception):
    """The bytes written to a spool passed its limit."""


class ContentSpool:
    """Bytes spooled to a temporary file as they arrive, hashed on the way (SHA-256 for the
    key, SHA-1 for MHD), with a limit on their size. Close it with `discard` when done."""

    def __init__(self, limit: int, directory: Path | None = None) -> None:
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="upload-", dir=directory)
        self.path = Path(name)
        self._file = os.fdopen(handle, "wb")
        self._sha256 = hashlib.sha256()
        self._sha1 = hashlib.sha1()  # MHD: attachment.hash is SHA-1
        self.size = 0
        self.limit = limit

    def write(self, data: bytes) -> None:
        """Append `data`; ContentTooLarge once the total passes the limit."""
        self.size += len(data)
        if self.size > self.limit:
            raise ContentTooLarge(f"over {self.limit} bytes")
        self._file.write(data)
        self._sha256.update(data)
        self._sha1.update(data)

    def finish(self) -> ContentInfo:
        """Close the file; what was written."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        return ContentInfo(self._sha256.hexdigest(), self._sha1.hexdigest(), self.size)

    def discard(self) -> None:
        """Close and remove the temporary file (if it was not moved into the store)."""
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


def put_spool(connection: Connection, spool: ContentSpool) -> ContentInfo:
    """Store the spooled bytes (once per content) in the caller's transaction."""
    info = spool.finish()
    if not _claim(connection, info):
        return info
    if is_sqlite(connection):
        target = _blob_path(connection, info.sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(spool.path, target)  # a rename on the same file system
        return info
    with spool.path.open("rb") as source:
        for seq, piece in enumerate(iter(lambda: source.read(CHUNK), b"")):
            _insert_chunk(connection, info.sha256, seq, piece)
    return info


def put_bytes(connection: Connection, data: bytes) -> ContentInfo:
    """Store `data` (once per content) in the caller's transaction."""
    info = ContentInfo(
        hashlib.sha256(data).hexdigest(),
        hashlib.sha1(data).hexdigest(),  # MHD: attachment.hash is SHA-1
        len(data),
    )
    if not _claim(connection, info):
        return info
    if is_sqlite(connection):
        target = _blob_path(connection, info.sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(target.name + ".part")
            temporary.write_bytes(data)
            os.replace(temporary, target)
        return info
    for seq, start in enumerate(range(0, len(data), CHUNK)):
        _insert_chunk(connection, info.sha256, seq, data[start : start + CHUNK])
    return info


def _claim(connection: Connection, info: ContentInfo) -> bool:
    """Insert the content's row unless it is stored already; True when the bytes must be
    written. Two writers of the same content take turns (a lock on its key)."""
    lock_key(connection, f"document-content:{info.sha256}")
    if content_info(connection, info.sha256) is not None:
        return False
    connection.execute(
        insert(document_content).values(
            sha256=info.sha256,
            sha1=info.sha1,
            size=info.size,
            chunk_count=(info.size + CHUNK - 1) // CHUNK,
            created_us=now_us(),
        )
    )
    return True


def _insert_chunk(connection: Connection, key: str, seq: int, data: bytes) -> None:
    connection.execute(insert(document_content_chunk).values(content_key=key, seq=seq, data=data))


def content_info(connection: Connection, sha256: str) -> ContentInfo | None:
    """The stored content with this SHA-256, or None."""
    c = document_content.c
    row = connection.execute(select(c.sha256, c.sha1, c.size).where(c.sha256 == sha256)).first()
    return None if row is None else ContentInfo(row[0], row[1], int(row[2]))


def read_range(connection: Connection, sha256: str, start: int, end: int) -> Iterator[bytes]:
    """The stored bytes [start, end) in pieces of at most `CHUNK` bytes."""
    if end <= start:
        return
    if is_sqlite(connection):
        with _blob_path(connection, sha256).open("rb") as source:
            source.seek(start)
            left = end - start
            while left > 0:
                piece = source.read(min(CHUNK, left))
                if not piece:
                    return
                left -= len(piece)
                yield piece
        return
    for seq in range(start // CHUNK, (end - 1) // CHUNK + 1):
        piece = _chunk(connection, sha256, seq)
        low = max(start - seq * CHUNK, 0)
        high = min(end - seq * CHUNK, len(piece))
        yield piece[low:high]


def _chunk(connection: Connection, sha256: str, seq: int) -> bytes:
    c = document_content_chunk.c
    stmt = select(c.data).where(c.content_key == sha256, c.seq == seq)
    data = connection.execute(stmt).scalar_one_or_none()
    return bytes(data) if data is not None else b""


def verify(connection: Connection, info: ContentInfo) -> bool:
    """Whether the stored bytes still have the content's size and SHA-256."""
    digest, size = hashlib.sha256(), 0
    try:
        for piece in read_range(connection, info.sha256, 0, info.size + 1):
            digest.update(piece)
            size += len(piece)
    except FileNotFoundError:
        return False
    return size == info.size and digest.hexdigest() == info.sha256


def blob_directory(connection: Connection) -> Path:
    """SQLite: the directory of the content files, beside the database file."""
    database = connection.engine.url.database
    if not database or database == ":memory:":
        raise RuntimeError("document content needs a SQLite database file, not :memory:")
    return Path(database).resolve().parent / BLOB_FOLDER


def _blob_path(connection: Connection, sha256: str) -> Path:
    if len(sha256) != 64 or not all(ch in "0123456789abcdef" for ch in sha256):
        raise ValueError("not a SHA-256 in hex")
    return blob_directory(connection) / sha256[:2] / sha256
