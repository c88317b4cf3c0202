"""Prepare one batch of typed messages (pure, no I/O): the rows, references, rejections and
file facts the sink writes, and the newest version of each key.

Every row message of a file becomes exactly one reference (the raw layer is lossless,
malformed and refused rows included). For the core upserts only the newest version per key
survives: Postgres refuses to update one row twice in one INSERT ... ON CONFLICT.
"""

from __future__ import annotations

from collections.abc import Iterable

from consumer.intake.batch import Batch
from consumer.intake.decoder import Decoder
from consumer.intake.messages import Message
from consumer.intake.records import Inbound
from consumer.prepare.builder import BatchBuilder
from consumer.prepare.prepared import Contents, Known, PreparedBatch
from consumer.prepare.winners import winners_of
from feed.contract import DEFAULT_MAX_ROW_BYTES


def prepare(
    batch: Batch, *, known: Known | None = None, contents: Contents | None = None,
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES,
) -> PreparedBatch:  # fmt: skip
    """``known``: contents already stored (applied ones are only referenced); ``contents``:
    what an earlier pass decoded and mapped (a bisected half reuses it)."""
    builder = BatchBuilder(known, max_row_bytes, contents=contents)
    take(builder, batch.messages)
    return finish(builder, batch)


def prepare_records(
    records: Iterable[Inbound], *, row_topic: str, files_topic: str, known: Known | None = None,
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES,
) -> PreparedBatch:  # fmt: skip
    """Records decoded by a fresh ``Decoder``, then prepared: for tools and tests."""
    decoder = Decoder(row_topic, files_topic)
    batch = Batch.of([decoder.decode(r) for r in records])
    return prepare(batch, known=known, max_row_bytes=max_row_bytes)


def take(builder: BatchBuilder, messages: Iterable[Message]) -> None:
    """Add ``messages`` to the batch: ``prepare`` in parts, for a caller that yields between."""
    add = builder.take
    for message in messages:
        add(message)


def finish(builder: BatchBuilder, batch: Batch) -> PreparedBatch:
    """The batch ``builder`` holds once every message of ``batch`` was taken."""
    rows = tuple(builder.rows)
    winners, deduped = winners_of(rows)
    mapped = [r.mapped for r in rows if r.mapped is not None]
    return PreparedBatch(
        batch=batch,
        rows=rows,
        references=tuple(builder.references),
        rejections=tuple(builder.rejections),
        files=tuple(builder.files.values()),
        winners=winners,
        deduped_stale=deduped,
        fields_total=sum(m.fields_total for m in mapped) + builder.known.fields_total,
        fields_unknown=sum(m.fields_unknown for m in mapped) + builder.known.fields_unknown,
        unchanged=builder.known.unchanged,
        digest_mismatches=builder.digest_mismatches,
        known=builder.known.found,
        contents=builder.contents,
        looked_up=builder.looked_up,
    )
