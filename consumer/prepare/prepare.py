"""Decode, map and dedupe one batch of Kafka records (pure, no I/O).

Every row message with usable headers becomes exactly one ``RawRow`` (the raw layer is lossless,
malformed and undecodable rows included). For the core upserts only the newest version per
key survives: Postgres refuses to update one row twice in one INSERT ... ON CONFLICT.
"""

from __future__ import annotations

from collections.abc import Sequence

from consumer.intake.offsets import BatchOffsets
from consumer.intake.records import Inbound
from consumer.prepare.prepared import Known, PreparedBatch
from consumer.prepare.row_builder import BatchBuilder
from consumer.prepare.winners import winners_of
from feed.contract import (
    DEFAULT_MAX_ROW_BYTES,
    H_DIALECT,
    H_KIND,
    ROW_HEADERS,
    ContractError,
    header_digest,
    header_map,
    row_digest,
)

DIALECT_AT, KIND_AT = ROW_HEADERS.index(H_DIALECT), ROW_HEADERS.index(H_KIND)


def identify(messages: Sequence[Inbound], row_topic: str) -> tuple[list[bytes], int]:
    """Each row message's content digest, computed from its value (``feed.contract.row_digest``)
    and set on the message with the observation cells cut from it. Returns the digests to
    look up and how many messages announced another digest in their header.

    The header is a hint and only compared: a row that disagrees keeps ``digest`` None, so it
    cannot be skipped on the fast path; the full path computes its digest again.
    """
    digests: list[bytes] = []
    mismatches = 0
    for message in messages:
        value = message.value
        if message.topic != row_topic or value is None:
            continue
        h = message.headers
        if len(h) == len(ROW_HEADERS) and h[DIALECT_AT][0] == H_DIALECT and h[KIND_AT][0] == H_KIND:
            dialect, kind = h[DIALECT_AT][1], h[KIND_AT][1]
        else:
            found = header_map(h)
            dialect, kind = found.get(H_DIALECT, b""), found.get(H_KIND, b"row")
        # A malformed row's value is its own content: nothing is cut from it.
        cells_of = dialect.decode("utf-8", "replace") if kind == b"row" else ""
        digest, observed = row_digest(value, cells_of)
        digests.append(digest)
        announced = header_digest(h)
        if announced is not None and announced != digest:
            mismatches += 1
            message.digest, message.observed = None, None
            continue
        message.digest, message.observed = digest, observed
    return digests, mismatches


def prepare(
    messages: Sequence[Inbound], *, row_topic: str, files_topic: str, known: Known | None = None,
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES,
) -> PreparedBatch:  # fmt: skip
    """``known``: contents already applied; their rows are referenced without being decoded."""
    _, mismatches = identify(messages, row_topic)
    builder = BatchBuilder(known, max_row_bytes, digest_mismatches=mismatches)
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
        digest_mismatches=builder.digest_mismatches,
        known=builder.known.found,
        looked_up=builder.looked_up,
    )
