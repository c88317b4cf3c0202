"""Issue 18: one oversized row never stops ingestion. It is kept whole in the database,
the dead-letter topic gets a letter that fits it, and every batch commits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from consumer.store.dlq import CUT_VALUE_BYTES
from tests.e2e.fixtures import oversized_feed
from tests.e2e.harness import Harness, count
from tests.kafka import read_topic

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

_LETTER_LIMIT = 1_048_588  # Kafka's default max.message.bytes: what the DLQ topic takes


async def _create_topic(bootstrap: str, topic: str, configs: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1, topic_configs=configs)])
    finally:
        await admin.close()


async def _oversized(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(
            "SELECT p.dedup_key, p.raw, octet_length(p.raw) AS bytes, r.payload::text AS payload"
            " FROM audit.parse_errors p"
            " JOIN raw.v_rows r ON r.file_id = p.file_id AND r.row_no = p.row_no"
            " WHERE p.reason = 'oversized' ORDER BY p.row_no"
        )
    finally:
        await conn.close()


async def test_oversized_rows_are_kept_and_never_stop_the_batch(
    harness: Harness, tmp_path: Path
) -> None:
    feed = oversized_feed(tmp_path / "over.csv")
    harness.publish([feed.files["OVER"]])
    totals = harness.consume(idle=3, timeout=300)  # asserts exit code 0
    admin = harness.admin_dsn

    assert await count(admin, "SELECT count(*) FROM public.lots") == len(feed.rows) - 1
    # Lossless: one raw row per physical record the producer published, and the run is done.
    published = await count(admin, "SELECT rows_published FROM raw.csv_files")
    assert await count(admin, "SELECT count(*) FROM raw.file_rows") == published
    assert await count(admin, "SELECT count(*) FROM audit.etl_runs WHERE status = 'completed'") == 1
    # Not mapped: no 3 MB note in the core tables.
    assert await count(admin, "SELECT max(octet_length(special_note)) FROM public.lots") < 1000

    oversized = await _oversized(admin)
    assert len(oversized) == 4  # the 3 MB note, the three 4 MB lines of the broken quote
    assert [r["bytes"] > 3_000_000 for r in oversized] == [True] * 4
    letters = {
        dict(r.headers)["vinops-stored-parse-error"].decode(): r
        for r in await read_topic(harness.bootstrap, harness.dlq_topic)
        if dict(r.headers)["vinops-reason"] == b"oversized"
    }
    assert sorted(letters) == sorted(r["dedup_key"] for r in oversized)
    for row in oversized:
        letter = letters[row["dedup_key"]]
        headers = dict(letter.headers)
        full = row["raw"].encode()
        assert row["payload"] == row["raw"]  # the raw layer holds the same full value
        assert headers["vinops-value-bytes"] == str(len(full)).encode()
        assert headers["vinops-value-sha256"] == hashlib.sha256(full).hexdigest().encode()
        assert letter.value == full[:CUT_VALUE_BYTES]
        assert headers["vinops-stored-raw-row"] == row["dedup_key"].encode()
        assert len(letter.value) + sum(len(v) + len(k) for k, v in letter.headers) < _LETTER_LIMIT
    assert totals["dead_letters_truncated"] == 4
    assert totals["dead_letters_unsent"] == 0


async def test_a_dlq_topic_that_refuses_every_letter_never_blocks_the_batch(
    harness: Harness, tmp_path: Path
) -> None:
    # 200 bytes: less than the headers of any dead letter.
    await _create_topic(harness.bootstrap, harness.dlq_topic, {"max.message.bytes": "200"})
    feed = oversized_feed(tmp_path / "over.csv", good=50)
    harness.publish([feed.files["OVER"]])
    totals = harness.consume(idle=3, timeout=300)
    admin = harness.admin_dsn

    assert await count(admin, "SELECT count(*) FROM public.lots") == 49
    published = await count(admin, "SELECT rows_published FROM raw.csv_files")
    assert await count(admin, "SELECT count(*) FROM raw.file_rows") == published
    assert await count(admin, "SELECT count(*) FROM audit.etl_runs WHERE status = 'completed'") == 1
    letters = await count(admin, "SELECT count(*) FROM audit.parse_errors")
    assert letters >= 4  # the oversized rows and whatever else the broken quote split off
    assert totals["dead_letters_unsent"] == letters
    assert totals["dead_letters_truncated"] == 0
    assert await read_topic(harness.bootstrap, harness.dlq_topic) == []
