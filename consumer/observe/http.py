"""A tiny HTTP/1.1 server for /metrics, /healthz and /readyz (no framework needed).

One request per connection (``Connection: close``); only GET/HEAD; anything else is 404/405.
Readiness is a coroutine supplied by the service returning ``None`` (ready) or a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from consumer.observe.logs import ctx

log = logging.getLogger(__name__)

ReadyCheck = Callable[[], Awaitable[str | None]]
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
_MAX_HEADER_BYTES = 16384
_READ_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


class HttpServer:
    def __init__(self, registry: CollectorRegistry, ready: ReadyCheck) -> None:
        self._registry = registry
        self._ready = ready
        self._server: asyncio.Server | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._handle, host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("metrics server listening", extra=ctx(host=host, port=self.port))
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def respond(self, method: str, path: str) -> Response:
        route = path.split("?", 1)[0]
        if route not in {"/metrics", "/healthz", "/readyz"}:
            return Response(404, b"not found\n")
        if method not in {"GET", "HEAD"}:
            return Response(405, b"method not allowed\n")
        if route == "/metrics":
            return Response(200, generate_latest(self._registry), CONTENT_TYPE_LATEST)
        if route == "/healthz":
            return Response(200, b"ok\n")
        reason = await self._ready()
        if reason is None:
            return Response(200, b"ready\n")
        return Response(503, f"not ready: {reason}\n".encode())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT_S)
            if len(head) > _MAX_HEADER_BYTES:
                return
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(parts) != 3:
                return
            method, path = parts[0], parts[1]
            resp = await self.respond(method, path)
            body = b"" if method == "HEAD" else resp.body
            writer.write(
                (
                    f"HTTP/1.1 {resp.status} {_REASONS[resp.status]}\r\n"
                    f"Content-Type: {resp.content_type}\r\n"
                    f"Content-Length: {len(resp.body)}\r\n"
                    "Connection: close\r\n\r\n"
                ).encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client that goes away or talks nonsense gets nothing
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
