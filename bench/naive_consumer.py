"""Scenario 3, the naive consumer: what one would write by hand in an afternoon.

aiokafka, one message at a time, one autocommitted ``INSERT ... ON CONFLICT`` into
public.lots per message (a dozen columns converted in Python), Kafka offsets auto-committed.
No raw layer, no audit, no vehicles: it does strictly LESS work than the real consumer,
so the ratio flatters the naive approach. It runs for a fixed time and reports rows/s.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer

SQL = """
INSERT INTO public.lots (lot_external_id, source_updated_at, vin_raw, yard_number, yard_name,
                         location_zip, currency_code, odometer, high_bid, est_retail_value,
                         damage_description, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (lot_external_id) DO UPDATE SET
    source_updated_at = EXCLUDED.source_updated_at, vin_raw = EXCLUDED.vin_raw,
    yard_number = EXCLUDED.yard_number, yard_name = EXCLUDED.yard_name,
    location_zip = EXCLUDED.location_zip, currency_code = EXCLUDED.currency_code,
    odometer = EXCLUDED.odometer, high_bid = EXCLUDED.high_bid,
    est_retail_value = EXCLUDED.est_retail_value,
    damage_description = EXCLUDED.damage_description, status = EXCLUDED.status,
    updated_at = now()
WHERE lots.source_updated_at IS NULL OR lots.source_updated_at < EXCLUDED.source_updated_at
"""


def _num(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value or None


def params(row: dict[str, Any]) -> tuple[Any, ...] | None:
    """The hand-written mapping; None for a row that is not a usable lot."""
    lot = str(row.get("Lot number") or "").strip()
    if not lot or "raw" in row:
        return None
    try:
        updated = datetime.fromisoformat(str(row["Last Updated Time"]))
    except (KeyError, ValueError):
        return None
    odometer = _num(row.get("Odometer"))
    return (
        lot, updated, row.get("VIN") or None, int(row.get("Yard number") or 0) or None,
        row.get("Yard name"), row.get("Location ZIP"), row.get("Currency Code"),
        int(odometer) if odometer else None, _num(row.get("High Bid =non-vix,Sealed=Vix")),
        _num(row.get("Est. Retail Value")), row.get("Damage Description"),
        row.get("Sale Status"),
    )  # fmt: skip


async def run_naive(
    bootstrap: str, topic: str, dsn: str, seconds: float, limit: int
) -> dict[str, Any]:
    """Consume for ``seconds`` (or until ``limit`` messages) and report the rate."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"bench-naive-{time.time_ns()}",
        auto_offset_reset="earliest", enable_auto_commit=True,
    )  # fmt: skip
    conn = await asyncpg.connect(dsn)
    await consumer.start()
    done = skipped = 0
    started: float | None = None
    elapsed = 0.0
    try:
        while (started is None or time.perf_counter() - started < seconds) and (
            done + skipped < limit
        ):
            msg = await asyncio.wait_for(consumer.getone(), timeout=60)
            started = started or time.perf_counter()  # clock starts at the first message
            values = params(orjson.loads(msg.value))
            if values is None:
                skipped += 1
                continue
            await conn.execute(SQL, *values)
            done += 1
        elapsed = time.perf_counter() - started if started is not None else 0.0
    finally:
        await consumer.stop()
        await conn.close()
    return {
        "rows": done + skipped,
        "seconds": round(elapsed, 3),
        "rows_per_s": round((done + skipped) / elapsed, 1) if elapsed else 0.0,
        "skipped": skipped,
        "note": f"at most {seconds:.0f}s of the file; the rate is extrapolated to all of it",
    }
