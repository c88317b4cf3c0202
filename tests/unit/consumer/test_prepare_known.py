"""prepare() with contents already applied: such rows become bare references, not mapped."""

from __future__ import annotations

import dataclasses

from consumer.prepare import PreparedBatch, prepare
from consumer.records import Inbound
from feed.contract import H_DIGEST, content_digest, digest_header
from tests.unit.consumer.feedrows import FILES_TOPIC, ROW_TOPIC, member_row, row_msg


def with_digest(message: Inbound) -> Inbound:
    """The message as the producer sends it: with its content digest header (once)."""
    assert message.value is not None
    return dataclasses.replace(
        message, headers=(*without_digest(message).headers, digest_header(message.value))
    )


def without_digest(message: Inbound) -> Inbound:
    return dataclasses.replace(
        message, headers=tuple(h for h in message.headers if h[0] != H_DIGEST)
    )


def run(
    *messages: Inbound, known: dict[bytes, tuple[int, int] | None] | None = None
) -> PreparedBatch:
    return prepare(messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, known=known)


def test_a_known_content_is_referenced_with_its_stored_field_counts() -> None:
    message = with_digest(row_msg(member_row("7"), row_no=3, offset=0))
    assert message.value is not None
    digest = content_digest(message.value)
    batch = run(message, known={digest: (48, 5)})
    (row,) = batch.rows
    assert (row.body, row.mapped, row.kind, row.digest) == (None, None, "row", digest)
    assert (row.lot_external_id, row.meta.row_no) == ("7", 3)
    assert (batch.unchanged, batch.fields_total, batch.fields_unknown) == (1, 48, 5)
    assert batch.winners.lots == ()


def test_a_content_repeated_in_one_batch_is_mapped_once() -> None:
    first = with_digest(row_msg(member_row("7"), row_no=1, offset=0))
    again = with_digest(row_msg(member_row("7"), row_no=2, offset=1))
    batch = run(first, again)
    assert [r.mapped is not None for r in batch.rows] == [True, False]
    assert [r.body is not None for r in batch.rows] == [True, False]
    assert batch.rows[0].digest == batch.rows[1].digest
    assert batch.unchanged == 1


def test_without_the_header_a_known_content_is_processed_in_full() -> None:
    message = without_digest(row_msg(member_row("7"), row_no=3, offset=0))
    assert message.value is not None
    batch = run(message, known={content_digest(message.value): (48, 5)})
    assert batch.rows[0].mapped is not None
    assert batch.unchanged == 0


def test_a_referenced_row_names_its_lot_as_a_mapped_row_does() -> None:
    # PostgreSQL text cannot hold NUL: the mapped lot number drops it, so must the reference.
    cells = member_row("12\x003 \x00")
    mapped = run(with_digest(row_msg(cells, row_no=1, offset=0))).rows[0]
    message = with_digest(row_msg(cells, row_no=2, offset=1))
    assert message.value is not None
    referenced = run(message, known={content_digest(message.value): (48, 0)}).rows[0]
    assert mapped.mapped is not None
    assert referenced.lot_external_id == mapped.lot_external_id == "123"
