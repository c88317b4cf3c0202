"""The reading process: the same messages as MessageBuilder, in order, in chunks."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from feed.contract import file_id_for
from feed.dialects import detect
from producer import pipeline
from producer.messages import MessageBuilder, is_blank
from producer.pipeline import (
    CP1252_FLAG,
    MALFORMED_FLAG,
    Chunk,
    WorkerError,
    chunks_of,
    receive,
)
from producer.reader import CP1252, CsvReader

SHA = "cd" * 32
HEADER = ["Id", "Lot number", "VIN", "Year", "Make", "Yard name", "Odometer", "Color", "Trim"]


class Pipe:
    """Stands in for the worker's end of the pipe; ``receive`` reads what was sent."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def send(self, item: Any) -> None:
        self.items.append(item)

    send_bytes = send

    def recv(self) -> Any:
        return self.items.pop(0)

    recv_bytes = recv

    def close(self) -> None:
        pass


def feed_bytes(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for n in range(1, rows + 1):
        if n % 997 == 0:
            out.write("\r\n")  # blank: counted, not sent
        elif n % 1009 == 0:
            out.write(f'"{n}","short"\r\n')  # malformed
        else:
            writer.writerow(
                [n, 26_000_000 + n, "VIN", 2010, 'SAY "HI"\nthere', "Y", 1.5, "RED", "YARD"]
            )
    data = out.getvalue().encode()
    return data.replace(b"YARD\r\n", "MONTR\u00c9AL\r\n".encode("cp1252"), 3)


def expected(data: bytes) -> list[tuple[int, int, bytes, bytes]]:
    reader = CsvReader(io.BytesIO(data))
    assert reader.header is not None
    builder = MessageBuilder(detect(reader.header), file_id_for(SHA), SHA)
    out = []
    for record in reader.records():
        if is_blank(record):
            continue
        m = builder.build(record)
        flag = (CP1252_FLAG if record.encoding == CP1252 else 0) | (
            MALFORMED_FLAG if m.malformed else 0
        )
        out.append((record.row_no, flag, m.key, m.value))
    return out


def flatten(chunks: list[Chunk]) -> list[tuple[int, int, bytes, bytes]]:
    return [
        (row_no, flag, key, value)
        for c in chunks
        for row_no, flag, key, value in zip(c.row_nos, c.flags, c.keys, c.values, strict=True)
    ]


def test_chunks_carry_exactly_the_messages_of_message_builder(tmp_path: Path) -> None:
    data = feed_bytes(5000)
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    conn = Pipe()
    pipeline._build_chunks(str(path), detect(HEADER), file_id_for(SHA), SHA, conn)  # type: ignore[arg-type]
    chunks = []
    while (chunk := receive(conn)) is not None:  # type: ignore[arg-type]
        chunks.append(chunk)
    assert conn.items == []
    assert all(len(c.row_nos) <= pipeline.CHUNK_ROWS for c in chunks)
    assert len(chunks) > 1
    assert flatten(chunks) == expected(data)
    assert sum(c.blank for c in chunks) == 5
    assert sum(c.malformed for c in chunks) == 4
    assert sum(1 for _, flag, _, _ in flatten(chunks) if flag & CP1252_FLAG) == 3
    assert chunks[-1].offset == len(data)
    first = orjson.loads(chunks[0].values[0])
    assert list(first) == HEADER
    assert first["Make"] == 'SAY "HI"\nthere'


async def test_chunks_from_the_worker_process_match(tmp_path: Path) -> None:
    data = feed_bytes(3000)
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    async with chunks_of(path, detect(HEADER), file_id_for(SHA), SHA) as reader:
        chunks = [chunk async for chunk in reader]
    assert flatten(chunks) == expected(data)


async def test_a_reading_failure_is_reported_not_hidden(tmp_path: Path) -> None:
    async def drain() -> None:
        async with chunks_of(tmp_path / "gone.csv", detect(HEADER), file_id_for(SHA), SHA) as r:
            async for _ in r:
                pass

    with pytest.raises(WorkerError, match="FileNotFoundError"):
        await drain()
