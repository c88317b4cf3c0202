"""Scenario 4, the producer alone against kcat sending the same file's lines (keyed by
lot number, lz4 like the producer), and scenario 6's producer memory on a large file.

Scenario 4 also sends, with kcat, the producer's own messages pre-encoded: the same keys,
JSON values and headers that ``producer publish`` sends, with no parsing or hashing left.
That is the ceiling of any producer that honours the wire contract on this broker."""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
from pathlib import Path

import orjson

from bench.generate import Spec, generate
from bench.procs import spawn, tail
from bench.report import ratio
from bench.scenarios.common import Ctx, Result, now, publish_cmd, rate
from bench.stack import create_topics, delete_topics
from producer.feedfile import inspect_file
from producer.messages import MessageBuilder, is_blank
from producer.reader import CsvReader


def reported_seconds(stdout: str) -> float | None:
    """The ``seconds`` of ``producer publish --json`` (one JSON object per file)."""
    for line in stdout.splitlines():
        with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return float(orjson.loads(line)["seconds"])
    return None


def keyed_lines(source: Path, target: Path) -> int:
    """``lot<TAB>line`` per physical line (kcat -K '\\t'); a line without a lot is sent as is."""
    n = 0
    with source.open("rb") as src, target.open("wb") as out:
        src.readline()  # header
        for raw in src:
            line = raw.rstrip(b"\r\n")
            text = line.decode("utf-8", "replace")
            fields = next(csv.reader(io.StringIO(text)), [])
            key = fields[8].encode() if len(fields) > 8 else b""
            out.write(key + b"\t" + line + b"\n")
            n += 1
    return n


def contract_messages(source: Path, target: Path) -> tuple[int, list[str]]:
    """``key<TAB>value`` of every message the producer sends for ``source`` (values are
    orjson, which escapes tabs and newlines), and kcat ``-H`` options for its row headers."""
    feed = inspect_file(source)
    builder = MessageBuilder(feed.layout, feed.file_id, feed.sha256)
    n, headers = 0, list[str]()
    with source.open("rb") as src, target.open("wb") as out:
        for record in CsvReader(src).records():
            if is_blank(record):
                continue
            message = builder.build(record)
            out.write(message.key + b"\t" + message.value + b"\n")
            headers = headers or [f"{k}={v.decode()}" for k, v in message.headers]
            n += 1
    return n, [opt for h in headers for opt in ("-H", h)]


async def kcat_send(ctx: Ctx, kcat: str, lines_file: Path, label: str, extra: list[str]) -> float:
    """Seconds kcat -P takes to send ``lines_file`` (lz4, keyed) to a fresh topic."""
    topics = await create_topics(ctx.stack, label)
    try:
        started = now()
        cmd = [kcat, "-P", "-b", ctx.stack.bootstrap, "-t", topics.rows, "-K", "\t", "-z", "lz4",
               *extra, "-l", str(lines_file)]  # fmt: skip
        proc = await spawn(label, cmd, ctx.stack.env())
        if await proc.wait(1800) != 0:
            ctx.fail(f"{label}: exit {proc.returncode}: {tail(proc.stderr)}")
        return now() - started
    finally:
        await delete_topics(ctx.stack, topics)


async def producer_vs_kcat(ctx: Ctx) -> Result:
    stack = ctx.stack
    topics = await create_topics(stack, "prod")
    try:
        pub = await spawn("producer-alone", publish_cmd(topics, ctx.file), stack.env())
        if await pub.wait(1800) != 0:
            ctx.fail(f"producer: exit {pub.returncode}: {tail(pub.stderr)}")
    finally:
        await delete_topics(stack, topics)
    result: Result = {
        "rows": ctx.expected.rows,
        "seconds": round(pub.seconds, 3),
        "rows_per_s": round(rate(ctx.expected.rows, pub.seconds), 1),
        "peak_rss_mb": round(pub.peak_rss_mb, 1),
        # The producer's own figure: first row read to last row acknowledged (no process
        # start, hashing or topic check); the ratio uses wall time, as for kcat.
        "producer_reported_seconds": reported_seconds(pub.stdout),
    }
    kcat = shutil.which("kcat")
    if kcat is None:
        return {**result, "kcat": "not installed"}
    lines_file = ctx.file.with_suffix(".kcat.tsv")
    try:
        lines = keyed_lines(ctx.file, lines_file)
        kcat_s = await kcat_send(ctx, kcat, lines_file, "kcat", [])
        messages, header_opts = contract_messages(ctx.file, lines_file)
        ceiling_s = await kcat_send(ctx, kcat, lines_file, "kcat-contract", header_opts)
    finally:
        lines_file.unlink(missing_ok=True)
    kcat_rate, ceiling_rate = rate(lines, kcat_s), rate(messages, ceiling_s)
    return {
        **result,
        "kcat_lines": lines,
        "kcat_seconds": round(kcat_s, 3),
        "kcat_rows_per_s": round(kcat_rate, 1),
        "ratio_producer_to_kcat": ratio(result["rows_per_s"], kcat_rate),
        "kcat_contract_messages": messages,
        "kcat_contract_seconds": round(ceiling_s, 3),
        "kcat_contract_rows_per_s": round(ceiling_rate, 1),
        "ratio_contract_ceiling_to_kcat": ratio(ceiling_rate, kcat_rate),
    }


async def producer_memory(ctx: Ctx) -> Result:
    rows = ctx.sizes.memory_rows
    spec = Spec(rows=rows, seed=11)
    path = spec.default_path()
    if not path.exists():
        generate(spec, path)  # cached: the same spec always gives the same bytes
    topics = await create_topics(ctx.stack, "mem")
    try:
        pub = await spawn("producer-memory", publish_cmd(topics, path), ctx.stack.env())
        if await pub.wait(3600) != 0:
            ctx.fail(f"memory: producer exit {pub.returncode}: {tail(pub.stderr)}")
    finally:
        await delete_topics(ctx.stack, topics)
    return {
        "rows": rows,
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "seconds": round(pub.seconds, 3),
        "rows_per_s": round(rate(rows, pub.seconds), 1),
        "peak_rss_mb": round(pub.peak_rss_mb, 1),
    }
