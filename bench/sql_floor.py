"""Scenario 2, the SQL floor: the consumer's own writes, without Kafka.

What the floor includes: every row of the file turned into exactly the messages the
producer would send (``producer`` reader and message builder, plus the files-topic
``started``/``completed`` events), cut into batches of the consumer's default size,
prepared by the consumer's ``prepare()`` and written by the consumer's ``Sink.write`` (one
transaction per batch: COPY into temp tables, then the set-based upserts into the raw layer,
staging, vehicles, lots, sale events, images, audit, runs and offsets). It excludes Kafka
(no fetch, no produce, no network) and runs strictly one step after the other.

``rows_per_s`` is the database part alone (time inside ``Sink.write``); ``with_prepare``
adds the Python decode/map/dedupe the consumer does per batch. End to end is compared
with the database part: the floor no pipeline over the same SQL can beat.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench.stack import Database
from consumer.config.history import HistorySettings
from consumer.config.settings import DEFAULT_BATCH_SIZE
from consumer.intake.records import Inbound
from consumer.prepare.prepare import prepare_records
from consumer.store.sink import Sink
from feed.contract import FileCompleted, FileEvent, FileStarted, encode_file_event
from feed.settings import load
from producer.feedfile import FeedFile, inspect_file
from producer.messages import MessageBuilder, is_blank
from producer.reader import CsvReader

ROW_TOPIC, FILES_TOPIC = "bench.floor.lots", "bench.floor.files"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event(feed: FeedFile, event: FileEvent, offset: int) -> Inbound:
    return Inbound(FILES_TOPIC, 0, offset, feed.sha256.encode(), encode_file_event(event), (),
                   int(time.time() * 1000))  # fmt: skip


def messages(path: Path) -> Iterator[Inbound]:
    """The file as the consumer would fetch it: started event, rows, completed event."""
    feed = inspect_file(path)
    yield _event(
        feed,
        FileStarted(file_id=str(feed.file_id), sha256=feed.sha256, path=str(path),
                    bytes=feed.scan.size, headers=list(feed.layout.headers),
                    dialect=feed.layout.dialect.value, encoding=feed.scan.encoding,
                    started_at=_now_iso()),
        0,
    )  # fmt: skip
    rows = malformed = 0
    with path.open("rb") as stream:
        build = MessageBuilder(feed.layout, feed.file_id, feed.sha256).build
        for record in CsvReader(stream).records():
            if is_blank(record):
                continue
            m = build(record)
            yield Inbound(ROW_TOPIC, 0, rows, m.key, m.value, tuple(m.headers),
                          int(time.time() * 1000))  # fmt: skip
            rows += 1
            malformed += m.malformed
    yield _event(
        feed,
        FileCompleted(file_id=str(feed.file_id), sha256=feed.sha256, rows=rows,
                      malformed=malformed, seconds=0.0, completed_at=_now_iso(),
                      encoding=feed.scan.encoding),
        1,
    )  # fmt: skip


async def run_floor(
    db: Database, path: Path, batch_size: int = DEFAULT_BATCH_SIZE
) -> dict[str, Any]:
    pool = await asyncpg.create_pool(db.etl_dsn, min_size=1, max_size=1)
    # The consumer's own switch (VINOPS_HISTORY=off), so an A/B can take history out.
    history = load(HistorySettings, os.environ).enabled
    sink = Sink(pool, group_id="bench-floor", consumer_name="bench-floor", history=history)
    build_s = prepare_s = write_s = 0.0
    rows = batches = 0
    try:
        source = messages(path)
        while True:
            t0 = time.perf_counter()
            chunk = [m for _, m in zip(range(batch_size), source, strict=False)]
            t1 = time.perf_counter()
            if not chunk:
                break
            batch = prepare_records(chunk, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC)
            t2 = time.perf_counter()
            await sink.write(batch)
            t3 = time.perf_counter()
            build_s += t1 - t0
            prepare_s += t2 - t1
            write_s += t3 - t2
            rows += sum(m.topic == ROW_TOPIC for m in chunk)
            batches += 1
    finally:
        await pool.close()
    return {
        "rows": rows,
        "batches": batches,
        "batch_size": batch_size,
        "seconds": round(write_s, 3),
        "rows_per_s": round(rows / write_s, 1) if write_s else 0.0,
        "prepare_seconds": round(prepare_s, 3),
        "with_prepare_rows_per_s": round(rows / (write_s + prepare_s), 1),
        "build_messages_seconds": round(build_s, 3),
    }
