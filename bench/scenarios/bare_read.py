"""The ceiling of a repeated snapshot: a plain aiokafka read of the same topic range the
consumer drained, with and without a digest of every value, in the same run; and where a
known row's time goes, step by step (``known_row_profile``).

The consumer's repeated snapshot cannot be faster than reading the rows: the ratio
``snapshot2_over_bare_read`` says how much of the remaining time is the consumer's own.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.scenarios.common import Ctx, Result, partitions_of, rate
from bench.stack import Stack
from consumer.intake.batch import Batch
from consumer.intake.decoder import Decoder
from consumer.prepare.prepare import prepare

Offsets = dict[int, int]  # partition -> offset


async def end_offsets(stack: Stack, topic: str) -> Offsets:
    parts = [TopicPartition(topic, p) for p in await partitions_of(stack, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        return {tp.partition: int(o) for tp, o in ends.items()}
    finally:
        await consumer.stop()


async def read(
    bootstrap: str, topic: str, start: Mapping[int, int], end: Mapping[int, int], *,
    digest: bool, keep: list[Any] | None = None,
) -> Result:  # fmt: skip
    """Every record of ``topic`` from ``start`` to ``end``, as a consumer reads it (getmany of
    up to 5,000 records, the consumer's batch size); ``digest``: SHA-256 of each value."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024,
    )  # fmt: skip
    await consumer.start()
    rows = 0
    try:
        parts = [TopicPartition(topic, p) for p in sorted(end)]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, start.get(tp.partition, 0))
        left = {tp for tp in parts if end[tp.partition] > start.get(tp.partition, 0)}
        sha = hashlib.sha256
        t0 = time.perf_counter()
        while left:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, records in fetched.items():
                rows += len(records)
                if digest:
                    for r in records:
                        sha(r.value or b"").digest()
                if keep is not None:
                    keep.extend(records)
                if records and records[-1].offset + 1 >= end[tp.partition]:
                    left.discard(tp)
        seconds = time.perf_counter() - t0
    finally:
        await consumer.stop()
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rate(rows, seconds), 1)}


def known_row_profile(records: list[Any], topic: str, files_topic: str) -> Result:
    """Microseconds per row of each step the consumer takes for a row whose content is
    applied: decode at intake, then prepare with every content known."""
    decoder = Decoder(topic, files_topic)
    t0 = time.perf_counter()
    messages = decoder.decode_fetched(records)
    decode_s = time.perf_counter() - t0
    out: Result = {"rows": len(records)}
    t0 = time.perf_counter()
    prepared_rows = 0
    for start in range(0, len(messages), 5000):
        batch = Batch.of(messages[start : start + 5000])
        known = dict.fromkeys(batch.digests(), (49, 0, True))
        prepared_rows += prepare(batch, known=known).unchanged
    prepare_s = time.perf_counter() - t0
    n = max(len(records), 1)
    out["decode_us"] = round(decode_s / n * 1e6, 2)
    out["prepare_known_us"] = round(prepare_s / n * 1e6, 2)
    out["prepared_as_unchanged"] = prepared_rows
    return out


async def measure(ctx: Ctx, topic: str, files_topic: str, start: Offsets) -> Result:
    """Both reads of ``topic`` from ``start`` to its end, and the known-row profile."""
    end = await end_offsets(ctx.stack, topic)
    plain = await read(ctx.stack.bootstrap, topic, start, end, digest=False)
    kept: list[Any] = []
    hashed = await read(ctx.stack.bootstrap, topic, start, end, digest=True, keep=kept)
    profile = known_row_profile(kept, topic, files_topic)
    print(f"    bare read: {plain['rows_per_s']:,.0f} rows/s, with a digest of each value "
          f"{hashed['rows_per_s']:,.0f} rows/s", flush=True)  # fmt: skip
    return {"plain": plain, "digest": hashed, "known_row_profile": profile,
            "rows_per_s": hashed["rows_per_s"]}  # fmt: skip
