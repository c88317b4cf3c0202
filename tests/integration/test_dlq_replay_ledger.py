"""`consumer dlq replay`'s ledger on real Kafka and PostgreSQL: a letter a crashed replay
claimed is in doubt and not resent unless asked; two letters of one refused message go back
once; a cut letter whose copy the database does not hold (or holds changed) is not sent."""

from __future__ import annotations

import hashlib
import io

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from consumer.admin.cli import _parser
from consumer.admin.dlq_cli import run_dlq
from tests.conftest import UniqueName
from tests.databases import FreshDb
from tests.kafka import create_topics, end_offsets

pytestmark = pytest.mark.integration

FILE_ID = "6f1c0c1e-0000-5000-8000-000000000001"


def letter_headers(source: tuple[str, int, int], **extra: str) -> list[tuple[str, bytes]]:
    topic, partition, offset = source
    original = [("vinops-file-id", FILE_ID.encode()), ("vinops-row-no", str(offset + 1).encode())]
    added = {
        "vinops-error-class": "DataError", "vinops-error": "refused", "vinops-reason": "constraint",
        "vinops-consumer": "c1", "vinops-source-topic": topic,
        "vinops-source-partition": str(partition), "vinops-source-offset": str(offset), **extra,
    }  # fmt: skip
    return original + [(k, v.encode()) for k, v in added.items()]


async def replay(env: dict[str, str], *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_dlq(_parser().parse_args(["dlq", "replay", *args]), env, out)
    return code, out.getvalue()


async def test_in_doubt_duplicates_and_unrecoverable_letters(
    kafka_bootstrap: str, fresh_db: FreshDb, unique_name: UniqueName
) -> None:
    rows, dlq = unique_name("rows"), unique_name("dlq")
    await create_topics(kafka_bootstrap, rows, dlq, partitions=1)
    whole = b'{"Lot number": "1"}'
    cut_value = b'{"Lot number": "2", "Note": "' + b"x" * 500 + b'"}'
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for _ in range(2):  # the same refused message dead-lettered twice (a crash)
            await producer.send_and_wait(dlq, whole, key=b"1", headers=letter_headers((rows, 0, 7)))
        cut = letter_headers(
            (rows, 0, 8),
            **{"vinops-value-cut-to": "10", "vinops-value-bytes": str(len(cut_value)),
               "vinops-value-sha256": hashlib.sha256(cut_value).hexdigest(),
               "vinops-stored-parse-error": "pe-1"},
        )  # fmt: skip
        await producer.send_and_wait(dlq, cut_value[:10], key=b"2", headers=cut)
    finally:
        await producer.stop()
    env = {"VINOPS_KAFKA_BOOTSTRAP": kafka_bootstrap, "VINOPS_PG_DSN": fresh_db.etl_dsn,
           "VINOPS_DLQ_TOPIC": dlq}  # fmt: skip

    conn = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        # A replay that claimed the first message and died before Kafka's acknowledgement.
        await conn.execute(
            "INSERT INTO ingest.dlq_replays (source_topic, source_partition, source_offset, "
            "dlq_topic, dlq_partition, dlq_offset, reason, value_from, state, replay_topic) "
            "VALUES ($1, 0, 7, $2, 0, 0, 'constraint', 'letter', 'sending', $1)",
            rows, dlq,
        )  # fmt: skip
        # The database's copy of the cut letter's message was changed since: not sent.
        await conn.execute(
            "INSERT INTO audit.parse_errors (dedup_key, reason, message, raw) "
            "VALUES ('pe-1', 'constraint', 'refused', 'something else')"
        )
        code, out = await replay(env)
        assert code == 1
        assert out.splitlines()[-1] == (
            "3 selected, 0 replayed, 1 in doubt, 1 duplicates, 1 unrecoverable"
        )
        assert (await end_offsets(kafka_bootstrap, rows))[(rows, 0)] == 0

        await conn.execute(
            "UPDATE audit.parse_errors SET raw = $1 WHERE dedup_key = 'pe-1'", cut_value.decode()
        )
        code, out = await replay(env, "--resend-in-doubt")
        assert code == 0, out
        assert out.splitlines()[-1] == "3 selected, 2 replayed, 1 duplicates"
        sent = await conn.fetch(
            "SELECT source_offset, state, value_from FROM ingest.dlq_replays ORDER BY 1"
        )
        assert [tuple(r) for r in sent] == [(7, "sent", "letter"), (8, "sent", "parse_error")]
        assert (await end_offsets(kafka_bootstrap, rows))[(rows, 0)] == 2

        code, out = await replay(env, "--resend-in-doubt")
        assert (code, out.splitlines()[-1]) == (
            0, "3 selected, 0 replayed, 2 already replayed, 1 duplicates"
        )  # fmt: skip
    finally:
        await conn.close()
