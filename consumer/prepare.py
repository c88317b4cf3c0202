"""Decode, map and dedupe one batch of Kafka records (pure, no I/O).

Every row message with usable headers becomes exactly one ``RawRow`` (the raw layer is lossless,
malformed and undecodable rows included). For the core upserts only the newest version per
key survives: Postgres refuses to update one row twice in one INSERT ... ON CONFLICT.
"""

from __future__ import annotations

from collections.abc import Sequence

from consumer.offsets import BatchOffsets
from consumer.prepared import Known, PreparedBatch
from consumer.records import Inbound
from consumer.row_builder import BatchBuilder
from consumer.winners import winners_of
from feed.contract import (
    DEFAULT_MAX_ROW_BYTES,
    ContractError,
    header_digest,
)


def content_digests(messages: Sequence[Inbound], row_topic: str) -> list[bytes]:
    """The digests that row messages announce in their headers (for the known-content look-up)."""
    out: list[bytes] = []
    for message in messages:
        if message.topic != row_topic:
            continue
        digest = header_digest(message.headers)
        if digest is not None:
            out.append(digest)
    return out


def prepare(
    messages: Sequence[Inbound], *, row_topic: str, files_topic: str, known: Known | None = None,
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES,
) -> PreparedBatch:  # fmt: skip
    """``known``: contents already applied; their rows are referenced without being decoded."""
    builder = BatchBuilder(known, max_row_bytes)
    take(builder, messages, row_topic=row_topic, files_topic=files_topic)
    return finish(builder, messages)


def take(builder: BatchBuilder, messages: Sequence[Inbound], *, row_topic: str,
         files_topic: str) -> None:  # fmt: skip
    """Add ``messages`` to the batch: ``prepare`` in parts, for a caller that yields between."""
    for message in messages:
        if message.topic == files_topic:
            builder.file_event(message)
        elif message.topic == row_topic:
            builder.row(message)
        else:
            builder.reject(message, "bad_value", ContractError(f"unexpected {message.topic!r}"))


def finish(builder: BatchBuilder, messages: Sequence[Inbound]) -> PreparedBatch:
    """The batch ``builder`` holds once every one of ``messages`` was taken."""
    rows = tuple(builder.rows)
    winners, deduped = winners_of(rows)
    mapped = [r.mapped for r in rows if r.mapped is not None]
    return PreparedBatch(
        messages=tuple(messages),
        offsets=BatchOffsets.of(messages),
        dead_letters=tuple(builder.dead),
        rows=rows,
        references=tuple(builder.references),
        parse_errors=tuple(builder.parse_errors),
        files=tuple(builder.files.values()),
        winners=winners,
        deduped_stale=deduped,
        fields_total=sum(m.fields_total for m in mapped) + builder.known.fields_total,
        fields_unknown=sum(m.fields_unknown for m in mapped) + builder.known.fields_unknown,
        unchanged=builder.known.unchanged,
    )
