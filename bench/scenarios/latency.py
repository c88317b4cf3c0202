"""Scenario 5, latency: rows published at a steady rate while the consumer runs; the
publish-to-commit distribution is read from the consumer's own histogram
(``vinops_publish_to_commit_seconds``: DB commit time minus the Kafka timestamp).

Two runs against one consumer: new rows paced at half the end-to-end rate measured in the
same bench run (a fixed rate is above some hosts' capacity, and latency at capacity is just
queueing), then a repeated snapshot of those rows (95% unchanged, 5% with a newer update
time) replayed at ``latency_rate`` (2,000 rows/s). Each run's buckets are its own (the
histogram is read before and after it).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import socket
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.expect import _lines
from bench.procs import spawn, tail
from bench.scenarios.common import Ctx, Result, consumer_cmd, db_counts, fresh
from bench.stack import Database, Topics
from feed.contract import (
    FileCompleted,
    FileStarted,
    RowMeta,
    encode_file_event,
    encode_row,
    file_id_for,
)
from feed.dialects import detect

METRIC = "vinops_publish_to_commit_seconds"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text: str = r.read().decode()
        return text


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


async def _wait_ready(port: int, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(_ready, port):
            return True
        await asyncio.sleep(0.25)
    return False


def buckets(metrics_text: str) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of the histogram, +Inf last."""
    out: list[tuple[float, float]] = []
    for line in metrics_text.splitlines():
        if line.startswith(f"{METRIC}_bucket{{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    return sorted(out)


def quantile(hist: list[tuple[float, float]], q: float) -> tuple[float | None, float | None]:
    """(linear interpolation inside the bucket as Prometheus does, the bucket's upper bound)."""
    if not hist or hist[-1][1] == 0:
        return None, None
    target = q * hist[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in hist:
        if count >= target:
            if bound == float("inf"):
                return lower_bound, bound
            share = (target - lower_count) / (count - lower_count) if count > lower_count else 1
            return lower_bound + (bound - lower_bound) * share, bound
        lower_bound, lower_count = bound, count
    return None, None


def _rows(path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    reader = csv.reader(_lines(path))
    header = next(reader)
    lot = header.index("Lot number")
    for record in reader:
        if len(record) == len(header):
            yield record[lot], dict(zip(header, record, strict=True))


Row = tuple[str, dict[str, str]]


def replayed(rows: list[Row], total: int) -> Iterator[Row]:
    """The rows again (cycled up to ``total``), every 20th with a newer update time."""
    for n in range(total):
        lot, values = rows[n % len(rows)]
        if n % 20 == 0:
            values = {**values, "Last Updated Time": f"2031-01-01T00:00:{n % 60:02d}Z"}
        yield lot, values


async def _paced_publish(
    ctx: Ctx, topics: Topics, rows: Iterator[Row], *, total: int, rate: float,
    sent_rows: list[Row] | None = None,
) -> int:  # fmt: skip
    """Send ``total`` real row messages at ``rate`` per second, evenly paced."""
    header = next(csv.reader(_lines(ctx.file)))
    layout = detect(header)
    sha = hashlib.sha256(f"latency-{time.time_ns()}".encode()).hexdigest()
    file_id = file_id_for(sha)
    producer = AIOKafkaProducer(bootstrap_servers=ctx.stack.bootstrap, linger_ms=5, acks="all")
    await producer.start()
    sent = 0
    try:
        started_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        await producer.send_and_wait(topics.files, encode_file_event(FileStarted(
            file_id=str(file_id), sha256=sha, path="bench-latency", bytes=0, headers=header,
            dialect=layout.dialect.value, encoding="utf-8", started_at=started_at,
        )), key=sha.encode())  # fmt: skip
        futures: list[asyncio.Future[object]] = []
        t0 = time.monotonic()
        while sent < total:
            due = min(total, int((time.monotonic() - t0) * rate) + 1)
            while sent < due:
                lot, values = next(rows)
                if sent_rows is not None:
                    sent_rows.append((lot, values))
                meta = RowMeta(file_id=file_id, sha256=sha, row_no=sent + 1,
                               dialect=layout.dialect.value)  # fmt: skip
                futures.append(await producer.send(
                    topics.rows, encode_row(values), key=lot.encode(), headers=meta.kafka_headers()
                ))  # fmt: skip
                sent += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*futures)
        await producer.send_and_wait(topics.files, encode_file_event(FileCompleted(
            file_id=str(file_id), sha256=sha, rows=sent, malformed=0,
            seconds=round(time.monotonic() - t0, 3),
            completed_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        )), key=sha.encode())  # fmt: skip
    finally:
        await producer.stop()
    return sent


Hist = list[tuple[float, float]]


def _diff(after: Hist, before: Hist) -> Hist:
    """The buckets of what was observed between two scrapes."""
    prior = dict(before)
    return [(le, count - prior.get(le, 0.0)) for le, count in after]


def _summary(hist: list[tuple[float, float]], sent: int, rate: float, seconds: float) -> Result:
    p50, p50_le = quantile(hist, 0.50)
    p99, p99_le = quantile(hist, 0.99)
    max_le = next((b for b, c in hist if hist and c >= hist[-1][1]), None)
    return {
        "rows": sent,
        "rate_target": round(rate, 1),
        "rate_achieved": round(sent / seconds, 1),
        "rows_per_s": round(sent / seconds, 1),
        "seconds": round(seconds, 3),
        "observed": int(hist[-1][1]) if hist else 0,
        "p50_s": round(p50, 3) if p50 is not None else None,
        "p99_s": round(p99, 3) if p99 is not None else None,
        "p50_bucket_le": p50_le,
        "p99_bucket_le": p99_le,
        "max_bucket_le": max_le,
        "buckets": [[("+Inf" if le == float("inf") else le), int(c)] for le, c in hist],
    }


def first_rate(ctx: Ctx) -> float:
    """Half the end-to-end rate of this run (the fixed rate when e2e did not run)."""
    e2e_rate = (ctx.results.get("e2e") or {}).get("rows_per_s")
    return 0.5 * float(e2e_rate) if e2e_rate else float(ctx.sizes.latency_rate)


async def _drained(db: Database, rows: int) -> int:
    deadline = time.monotonic() + 300
    counts = await db_counts(db)
    while counts.get("raw_rows") != rows and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        counts = await db_counts(db)
    await asyncio.sleep(0.5)  # the histogram is observed right after COMMIT
    return int(counts.get("raw_rows") or 0)


async def run(ctx: Ctx) -> Result:
    rate = first_rate(ctx)
    total = min(int(rate * ctx.sizes.latency_seconds), ctx.expected.good)
    replay_rate = float(ctx.sizes.latency_rate)
    replay_total = int(replay_rate * ctx.sizes.latency_seconds)
    async with fresh(ctx, "latency") as (db, topics):
        port = _free_port()
        cmd = consumer_cmd(topics, "bench-latency", idle=None)
        cmd[cmd.index("--metrics-port") + 1] = str(port)
        consumer = await spawn("latency-consumer", cmd, ctx.stack.env(VINOPS_PG_DSN=db.etl_dsn))
        try:
            if not await _wait_ready(port, 60):
                ctx.fail(f"latency: consumer not ready: {tail(consumer.stderr)}")
                return {"error": "consumer not ready"}
            first: list[Row] = []
            t0 = time.monotonic()
            sent = await _paced_publish(
                ctx, topics, _rows(ctx.file), total=total, rate=rate, sent_rows=first
            )
            seconds = time.monotonic() - t0
            stored = await _drained(db, sent)
            hist1 = buckets(await asyncio.to_thread(_scrape, port))
            t0 = time.monotonic()
            resent = await _paced_publish(
                ctx, topics, replayed(first, replay_total), total=replay_total, rate=replay_rate
            )
            replay_seconds = time.monotonic() - t0
            stored_all = await _drained(db, sent + resent)
            hist2 = _diff(buckets(await asyncio.to_thread(_scrape, port)), hist1)
        finally:
            await consumer.stop()
        if stored != sent or stored_all != sent + resent:
            ctx.fail(f"latency: raw.file_rows {stored_all} != rows published {sent + resent}")
        out = _summary(hist1, sent, rate, seconds)
        out["replay"] = _summary(hist2, resent, replay_rate, replay_seconds)
        out["consumer_peak_rss_mb"] = round(consumer.peak_rss_mb, 1)
        return out
