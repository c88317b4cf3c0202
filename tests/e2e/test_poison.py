"""Poison messages are dead-lettered and recorded; everything else commits; service stays up."""

from __future__ import annotations

import asyncio
import signal
import urllib.request

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from feed.contract import RowMeta, file_id_for
from tests.e2e.fixtures import Feed
from tests.e2e.harness import Harness, count, free_port, wait_count, wait_exit
from tests.kafka import read_topic

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


async def _send_poison(h: Harness) -> None:
    meta = RowMeta(
        file_id=file_id_for("ab" * 32), sha256="ab" * 32, row_no=1, dialect="copart-member"
    )
    headers = meta.kafka_headers()
    wrong_contract = [(k, b"99" if k == "vinops-contract" else v) for k, v in headers]
    producer = AIOKafkaProducer(bootstrap_servers=h.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(h.topic, b"{not json", key=b"p1", headers=headers)
        await producer.send_and_wait(h.topic, b'{"Lot number": "9"}', key=b"p2", headers=[])
        await producer.send_and_wait(
            h.topic, b'{"Lot number": "9"}', key=b"p3", headers=wrong_contract
        )
    finally:
        await producer.stop()


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - local http only
        return int(resp.status), resp.read()


async def test_poison_is_isolated(harness: Harness, feed: Feed) -> None:
    conn = await asyncpg.connect(harness.admin_dsn)
    try:  # a rule the mapping does not know: the DB refuses one good-looking row
        await conn.execute(
            "ALTER TABLE public.lots ADD CONSTRAINT t_poison "
            "CHECK (yard_name IS DISTINCT FROM 'B YARD' OR lot_external_id <> '33')"
        )
    finally:
        await conn.close()
    harness.publish([feed.files["A"], feed.files["B"]])
    await _send_poison(harness)
    port = free_port()
    proc = harness.start(extra=["--metrics-port", str(port)])
    rows = len(feed.of(("A", "B")))
    # every published row lands in raw.file_rows, the refused one too (lossless)
    await wait_count(harness.admin_dsn, "SELECT count(*) FROM raw.file_rows", rows)
    await wait_count(harness.admin_dsn, "SELECT count(*) FROM audit.parse_errors", 2 + 3 + 1)
    # Every message was committed past, the three poison ones included (offsets are stored
    # in the batch's transaction), and the service is still running and ready.
    committed = await count(
        harness.admin_dsn,
        "SELECT coalesce(sum(next_offset), 0) FROM ingest.consumer_offsets WHERE topic = $1",
        harness.topic,
    )
    assert committed == rows + 3
    assert proc.poll() is None
    ready = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/readyz")
    assert ready == (200, b"ready\n")
    proc.send_signal(signal.SIGTERM)
    assert wait_exit(proc, 60) == 0
    reasons = sorted(
        dict(r.headers)["vinops-reason"].decode()
        for r in await read_topic(harness.bootstrap, harness.dlq_topic)
    )
    assert reasons == sorted(
        ["malformed_row", "malformed_row", "bad_json", "missing_headers", "contract_version",
         "constraint"]
    )  # fmt: skip
    assert await count(harness.admin_dsn, "SELECT count(*) FROM public.lots") == 50
    assert (
        await count(
            harness.admin_dsn, "SELECT count(*) FROM audit.parse_errors WHERE reason = 'constraint'"
        )
        == 1
    )
    refused = await count(
        harness.admin_dsn,
        "SELECT count(*) FROM raw.file_rows WHERE lot_external_id = '33' AND kind = 'malformed'"
        " AND parse_error LIKE '%t_poison%'",
    )
    assert refused == 1
