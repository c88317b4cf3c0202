"""What each system keeps when a lot's newer version arrives first and the older second.

One lot, two messages in that order, on real Kafka and PostgreSQL: vinops (producer and
consumer, its own database) must keep the newer version (last write wins by
``source_updated_at``); the peer (Kafka Connect + Debezium JDBC sink, upsert on the key)
has no ordering by a field, so the older version, arriving last, overwrites the newer.
The peer's jars come from Maven Central like the broker's: not fetching them fails.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from bench.generate import Spec, generate
from bench.peer.connect import Peer
from bench.peer.ingest import ingest
from bench.peer.jars import peer_jars
from bench.peer.messages import publish, rows
from bench.snapshots import write_next
from tests.databases import FreshDb
from tests.kafka import create_topics

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


def _versions(tmp_path: Path) -> tuple[Path, Path]:
    """(newer, older) files of one lot: the newer changes the bid, sale date and status."""
    older = generate(Spec(rows=1, seed=11), tmp_path / "older.csv").path
    newer = write_next(older, tmp_path / "newer.csv", 2, seed=11, share=1.0).path
    return newer, older


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{cmd[0]} exit {done.returncode}: {done.stderr[-2000:]}"


async def _kept(dsn: str, table: str) -> tuple[object, object]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            f"SELECT high_bid, source_updated_at FROM {table} WHERE lot_external_id NOT LIKE '~%'"
        )
    finally:
        await conn.close()
    assert row is not None
    return row["high_bid"], row["source_updated_at"].replace(tzinfo=None)


async def test_vinops_keeps_the_newer_and_the_peer_the_later_arrival(
    tmp_path: Path, kafka_bootstrap: str, fresh_db: FreshDb, unique_name: object
) -> None:
    newer, older = _versions(tmp_path)
    [new], [old] = list(rows(newer)), list(rows(older))
    assert new["lot_external_id"] == old["lot_external_id"]
    assert new["source_updated_at"] > old["source_updated_at"]
    assert new["high_bid"] != old["high_bid"]
    newest = (new["high_bid"], new["source_updated_at"].replace(tzinfo=None))
    oldest = (old["high_bid"], old["source_updated_at"].replace(tzinfo=None))

    # vinops: the real producer publishes the newer file, then the older; one consumer.
    name = str(unique_name)
    topic, files, dlq = f"{name}.lots", f"{name}.files", f"{name}.dlq"
    env = {**os.environ, "VINOPS_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "VINOPS_PG_DSN": fresh_db.etl_dsn}  # fmt: skip
    for path in (newer, older):
        _run([str(BIN / "producer"), "publish", "--topic", topic, "--files-topic", files,
              str(path)], env)  # fmt: skip
    _run([str(BIN / "consumer"), "run", "--topic", topic, "--files-topic", files,
          "--dlq-topic", dlq, "--group-id", f"{name}.g", "--metrics-port", "0",
          "--exit-when-idle", "3"], env)  # fmt: skip
    assert await _kept(fresh_db.admin_dsn, "public.lots") == newest

    # The peer: the same two versions, same order, one topic of 6 partitions.
    peer_topic = f"{name}.peer"
    await create_topics(kafka_bootstrap, peer_topic)
    sent = await publish(kafka_bootstrap, peer_topic, newer, older)
    jars = await asyncio.to_thread(peer_jars)  # mvn on first use; unavailable: a failure
    peer = Peer(jars, kafka_bootstrap, fresh_db.admin_dsn, peer_topic, "peer_lots",
                tmp_path / "connect")  # fmt: skip
    result = await ingest(
        peer, f"ordering-{name[-8:]}", sent["file_id"], partitions=sent["markers"],
        rows=sent["messages"], limit_s=120,
    )  # fmt: skip
    assert result["errors_logged"] == 0
    assert await _kept(fresh_db.admin_dsn, "peer_lots") == oldest
