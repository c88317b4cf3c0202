"""`consumer dlq list` and `consumer dlq replay` on a poison row fixed after the fact: a row
the database refuses (a constraint the mapping does not know) is dead-lettered; once the
constraint is fixed, the replayed letter lands, once, whether the dead-letter topic took the
whole letter or only a cut one (the value then comes from the database's copy)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.e2e.fixtures import Feed
from tests.e2e.harness import ROOT, Harness, count, fetch
from tests.kafka import end_offsets

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

POISON = "CHECK (yard_name IS DISTINCT FROM 'B YARD' OR lot_external_id <> '33')"


def dlq(h: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consumer", "dlq", *args, "--dlq-topic", h.dlq_topic],
        cwd=ROOT, env=h.env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def admin_sql(h: Harness, sql: str) -> None:
    conn = await asyncpg.connect(h.admin_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def dlq_topic_with_limit(h: Harness, max_message_bytes: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=h.bootstrap)
    await admin.start()
    try:
        topic = NewTopic(
            h.dlq_topic, num_partitions=6, replication_factor=1,
            topic_configs={"max.message.bytes": str(max_message_bytes)},
        )  # fmt: skip
        await admin.create_topics([topic])
    finally:
        await admin.close()


async def row_topic_size(h: Harness) -> int:
    return sum((await end_offsets(h.bootstrap, h.topic)).values())


@pytest.mark.parametrize("dlq_limit", [None, 1800], ids=["whole-letter", "cut-letter"])
async def test_a_poison_row_fixed_after_the_fact_is_replayed_once(
    harness: Harness, feed: Feed, dlq_limit: int | None
) -> None:
    h = harness
    if dlq_limit is not None:
        await dlq_topic_with_limit(h, dlq_limit)
    await admin_sql(h, f"ALTER TABLE public.lots ADD CONSTRAINT t_poison {POISON}")
    h.publish([feed.files["A"], feed.files["B"]])
    h.consume()
    # Lot 33 comes from file A; B's newer version of it is the one refused.
    lot_33 = "SELECT count(*) FROM public.lots WHERE lot_external_id = '33' AND yard_name = $1"
    assert await count(h.admin_dsn, lot_33, "B YARD") == 0
    lots_before = await count(h.admin_dsn, "SELECT count(*) FROM public.lots")

    listed = dlq(h, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    letters: list[dict[str, Any]] = orjson.loads(listed.stdout)
    constraint = [x for x in letters if x["reason"] == "constraint"]
    assert len(constraint) == 1, listed.stdout
    (refused,) = constraint
    (where,) = await fetch(
        h.admin_dsn,
        "SELECT file_id::text, row_no, kafka_partition, kafka_offset FROM raw.file_rows "
        "WHERE lot_external_id = '33' AND kind = 'malformed'",
    )
    assert (refused["file_id"], refused["row_no"]) == (where["file_id"], where["row_no"])
    assert refused["source"] == {
        "topic": h.topic, "partition": where["kafka_partition"], "offset": where["kafka_offset"]
    }  # fmt: skip
    assert refused["cut"] is (dlq_limit is not None)
    assert refused["size"] > 500
    assert refused["first_bytes"].startswith("{")
    assert refused["replay"] is None
    table = dlq(h, "list")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == [
        "AT", "REASON", "FILE", "ROW", "SIZE", "REPLAY", "FIRST", "BYTES"
    ]  # fmt: skip
    assert f"{len(letters)} dead letter(s)" in table.stdout

    sent_before = await row_topic_size(h)
    dry = dlq(h, "replay", "--reason", "constraint", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == "1 selected, 1 would replay"
    origin = "letter" if dlq_limit is None else "parse_error"
    assert f"value from {origin})" in dry.stdout
    assert await row_topic_size(h) == sent_before
    assert await count(h.admin_dsn, "SELECT count(*) FROM ingest.dlq_replays") == 0

    await admin_sql(h, "ALTER TABLE public.lots DROP CONSTRAINT t_poison")  # the fix
    done = dlq(h, "replay", "--reason", "constraint", "--file", refused["file_id"][:8])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "1 selected, 1 replayed"
    again = dlq(h, "replay", "--reason", "constraint")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "1 selected, 0 replayed, 1 already replayed"
    assert await row_topic_size(h) == sent_before + 1
    (recorded,) = await fetch(
        h.admin_dsn, "SELECT state, value_from, source_offset FROM ingest.dlq_replays"
    )
    assert tuple(recorded) == ("sent", origin, where["kafka_offset"])

    h.consume()
    assert await count(h.admin_dsn, lot_33, "B YARD") == 1
    assert await count(h.admin_dsn, "SELECT count(*) FROM public.lots") == lots_before
    relisted: list[dict[str, Any]] = orjson.loads(dlq(h, "list", "--json").stdout)
    assert [x["replay"] for x in relisted if x["reason"] == "constraint"] == ["sent"]
