from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from consumer.observe.http import HttpServer
from consumer.observe.metrics import Metrics


async def _get(port: int, path: str, method: str = "GET") -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


async def test_endpoints_on_a_real_server() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    state: dict[str, str | None] = {"reason": "consumer group not joined yet"}

    async def ready() -> str | None:
        return state["reason"]

    server = HttpServer(registry, ready)
    port = await server.start("127.0.0.1", 0)
    try:
        assert port > 0
        status, body = await _get(port, "/metrics")
        assert status == 200
        assert "vinops_ingested_rows_total" in body
        assert await _get(port, "/healthz") == (200, "ok\n")
        status, body = await _get(port, "/readyz")
        assert status == 503
        assert "not joined" in body
        state["reason"] = None
        assert await _get(port, "/readyz") == (200, "ready\n")
        assert (await _get(port, "/nope"))[0] == 404
        assert (await _get(port, "/metrics", method="POST"))[0] == 405
        assert await _get(port, "/healthz", method="HEAD") == (200, "")
    finally:
        await server.stop()


async def test_garbage_request_does_not_kill_the_server() -> None:
    async def ready() -> str | None:
        return None

    server = HttpServer(CollectorRegistry(), ready)
    port = await server.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x00\x01garbage\r\n\r\n")
        await writer.drain()
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        assert (await _get(port, "/healthz"))[0] == 200
    finally:
        await server.stop()
