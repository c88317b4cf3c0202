"""Reading and message building in a second process, handing the publisher compact chunks.

CSV parsing and JSON building (~4/5 of the CPU of a publication) run in a worker process
while the main process partitions, appends to record batches, compresses and talks to
Kafka: both cores work. The worker sends one ``Chunk`` per ``CHUNK_ROWS`` records through a
pipe; a pipe holds little, so the worker blocks once it is one chunk ahead and memory stays
constant whatever the file size. Records keep their order and exact row numbers.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import NamedTuple

import orjson

from feed.dialects import Layout
from producer.messages import MessageBuilder, is_blank
from producer.reader import CP1252, CsvReader

CHUNK_ROWS = 512  # ~0.8 MB of values: bigger chunks cost the worker RSS (glibc), not speed
# Per-record flag: bit 0 = cp1252 fallback, bit 1 = malformed (the two header variants).
CP1252_FLAG = 1
MALFORMED_FLAG = 2


class Chunk(NamedTuple):
    row_nos: list[int]
    flags: bytes
    keys: list[bytes]
    values: list[bytes]
    malformed: int
    blank: int
    offset: int  # bytes of the file read so far (progress)


class WorkerError(RuntimeError):
    """The reading process failed; the text is its error."""


def _send(conn: Connection, chunk: Chunk) -> None:
    """Keys and values travel as two joined blobs: pickling thousands of bytes objects
    costs the reading process ~7x more than one ``join``."""
    conn.send(
        (chunk.row_nos, chunk.flags, [len(k) for k in chunk.keys], [len(v) for v in chunk.values],
         chunk.malformed, chunk.blank, chunk.offset)
    )  # fmt: skip
    conn.send_bytes(b"".join(chunk.keys))
    conn.send_bytes(b"".join(chunk.values))


def _split(blob: bytes, lengths: list[int]) -> list[bytes]:
    ends = list(itertools.accumulate(lengths))
    return [blob[end - n : end] for n, end in zip(lengths, ends, strict=True)]


def receive(conn: Connection) -> Chunk | None:
    """The next chunk the reading process sent (``None`` at the end of the file)."""
    item = conn.recv()
    if item is None:
        return None
    if isinstance(item, WorkerError):
        raise item
    row_nos, flags, key_lengths, value_lengths, malformed, blank, offset = item
    keys = _split(conn.recv_bytes(), key_lengths)
    values = _split(conn.recv_bytes(), value_lengths)
    return Chunk(row_nos, flags, keys, values, malformed, blank, offset)


def _build_chunks(
    path: str, layout: Layout, file_id: uuid.UUID, sha256: str, conn: Connection
) -> None:
    """Every record of the file as chunks, then ``None`` (or the ``WorkerError``)."""
    try:
        builder = MessageBuilder(layout, file_id, sha256)
        keys, n, lot_at = builder.keys, len(builder.keys), layout.lot_index
        dumps = orjson.dumps
        row_nos: list[int] = []
        flags = bytearray()
        msg_keys: list[bytes] = []
        values: list[bytes] = []
        malformed = blank = 0
        with Path(path).open("rb") as stream:
            reader = CsvReader(stream)
            for record in reader.records():
                fields = record.fields
                lot = fields[lot_at].strip() if len(fields) == n else ""
                flag = CP1252_FLAG if record.encoding == CP1252 else 0
                if lot and record.error is None:
                    msg_keys.append(lot.encode())
                    values.append(dumps(dict(zip(keys, fields, strict=True))))
                elif is_blank(record):
                    blank += 1
                    continue
                else:
                    message = builder.malformed(record)
                    msg_keys.append(message.key)
                    values.append(message.value)
                    flag |= MALFORMED_FLAG
                    malformed += 1
                row_nos.append(record.row_no)
                flags.append(flag)
                if len(row_nos) >= CHUNK_ROWS:
                    chunk = Chunk(
                        row_nos, bytes(flags), msg_keys, values, malformed, blank, record.offset
                    )
                    _send(conn, chunk)
                    row_nos, flags, msg_keys, values = [], bytearray(), [], []
                    malformed = blank = 0
            chunk = Chunk(row_nos, bytes(flags), msg_keys, values, malformed, blank, reader.offset)
            _send(conn, chunk)
        conn.send(None)
    except BrokenPipeError:
        pass  # the main process stopped listening (interrupted): nothing to report
    except Exception as exc:  # noqa: BLE001 - reported to the main process, which raises it
        conn.send(WorkerError(f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():  # the reader may fire again before it is removed
        ready.set_result(None)


def _worker_main(
    path: str, layout: Layout, file_id: uuid.UUID, sha256: str, conn: Connection
) -> None:
    # Ctrl-C reaches the whole process group; the main process decides what happens.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _build_chunks(path, layout, file_id, sha256, conn)


class ChunkReader:
    """The main process's end: awaits chunks without blocking the event loop."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def __aiter__(self) -> AsyncIterator[Chunk]:
        conn = self._conn
        loop = asyncio.get_running_loop()
        while True:
            if not conn.poll():
                ready: asyncio.Future[None] = loop.create_future()
                loop.add_reader(conn.fileno(), _wake, ready)
                try:
                    await ready
                finally:
                    loop.remove_reader(conn.fileno())
            else:
                # A chunk already waiting: still a turn of the loop per chunk, so that Ctrl-C
                # (a cancelled task) stops the publication between chunks, not at its end.
                await asyncio.sleep(0)
            # A chunk is written in one go once built, so this read blocks only for the copy.
            try:
                chunk = receive(conn)
            except EOFError:
                raise WorkerError("the reading process ended without finishing") from None
            if chunk is None:
                return
            yield chunk


@asynccontextmanager
async def chunks_of(
    path: Path, layout: Layout, file_id: uuid.UUID, sha256: str
) -> AsyncIterator[ChunkReader]:
    """Start the worker for one file; always stopped on exit (interrupted or not)."""
    # spawn: the main process runs an event loop and aiokafka; forking that is unsafe.
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_worker_main,
        args=(str(path), layout, file_id, sha256, sender),
        name="vinops-producer-reader",
        daemon=True,
    )
    process.start()
    sender.close()  # the worker holds the only writing end: EOF when it exits
    try:
        yield ChunkReader(receiver)
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join()
