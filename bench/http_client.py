"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for the load generator.

httpx costs a few hundred microseconds of CPU per request, enough to make the load
generator, not the server, the bottleneck when measuring the bare-endpoint ceiling. This
client does only what the benchmark needs: one persistent connection per virtual client,
requests with a Content-Length body, responses with Content-Length or chunked bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass

_NO_BODY_STATUS = (204, 304)


class HttpError(Exception):
    """The connection broke or the response could not be parsed."""


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One keep-alive connection to host:port; reconnects when the server closes it."""

    def __init__(self, host: str, port: int, default_headers: dict[str, str]) -> None:
        self.host = host
        self.port = port
        self._prefix = "".join(f"{k}: {v}\r\n" for k, v in default_headers.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(
            self.host, self.port, limit=1 << 20
        )
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if self._writer is None:
            await self._connect()
        assert self._reader is not None and self._writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self._prefix}"
        if headers:
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body is not None:
            head += f"Content-Length: {len(body)}\r\n"
        data = (head + "\r\n").encode("latin-1")
        try:
            self._writer.write(data + body if body is not None and len(body) < 65536 else data)
            if body is not None and len(body) >= 65536:
                self._writer.write(body)
            response = await self._read_response(method)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            await self.close()
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        if response.headers.get("connection", "").lower() == "close":
            await self.close()
        return response

    async def _read_response(self, method: str) -> Response:
        assert self._reader is not None
        raw = await self._reader.readuntil(b"\r\n\r\n")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError(f"bad status line {lines[0]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in _NO_BODY_STATUS or 100 <= status < 200:
            return Response(status, headers, b"")
        if "content-length" in headers:
            body = await self._reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:  # no framing: the body runs until the server closes the connection
            body = await self._reader.read()
            headers["connection"] = "close"
        return Response(status, headers, body)

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        chunks: list[bytes] = []
        while True:
            size_line = await self._reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")  # the empty trailer
                return b"".join(chunks)
            chunks.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)
