"""prepare() with contents already applied: such rows become bare references, not mapped."""

from __future__ import annotations

import dataclasses

from consumer.intake.records import Inbound
from consumer.prepare.prepare import prepare_records
from consumer.prepare.prepared import PreparedBatch
from feed.contract import H_CONTRACT, H_DIGEST, H_FILE_ID, H_ROW_NO, digest_header
from tests.unit.consumer.feedrows import FILES_TOPIC, ROW_TOPIC, digest_of, member_row, row_msg


def with_digest(message: Inbound) -> Inbound:
    """The message as the producer sends it: with its content digest header (once)."""
    assert message.value is not None
    return dataclasses.replace(
        message,
        headers=(*without_digest(message).headers, digest_header(message.value, "copart-member")),
    )


def without_digest(message: Inbound) -> Inbound:
    return dataclasses.replace(
        message, headers=tuple(h for h in message.headers if h[0] != H_DIGEST)
    )


def run(
    *messages: Inbound, known: dict[bytes, tuple[int, int, bool] | None] | None = None
) -> PreparedBatch:
    return prepare_records(messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, known=known)


def test_a_known_content_is_referenced_with_its_stored_field_counts() -> None:
    message = with_digest(row_msg(member_row("7"), row_no=3, offset=0))
    assert message.value is not None
    digest = digest_of(message)
    batch = run(message, known={digest: (48, 5, True)})
    assert batch.rows == ()  # nothing decoded, mapped or stored again
    (ref,) = batch.references
    assert (ref.kind, ref.digest, ref.parse_error) == ("row", digest, None)
    assert (ref.lot_external_id, ref.row_no, ref.kafka_offset) == ("7", 3, 0)
    assert (batch.unchanged, batch.fields_total, batch.fields_unknown) == (1, 48, 5)
    assert batch.winners.lots == ()


def test_a_content_repeated_in_one_batch_is_mapped_once() -> None:
    first = with_digest(row_msg(member_row("7"), row_no=1, offset=0))
    again = with_digest(row_msg(member_row("7"), row_no=2, offset=1))
    batch = run(first, again)
    (row,) = batch.rows
    assert row.mapped is not None
    assert row.body is not None
    assert [(r.row_no, r.digest) for r in batch.references] == [(1, row.digest), (2, row.digest)]
    assert batch.unchanged == 1
    # The repeat counts its fields as the first did: the unknown rate sees every row.
    assert (batch.fields_total, batch.fields_unknown) == (
        2 * row.mapped.fields_total,
        2 * row.mapped.fields_unknown,
    )


def test_without_the_header_a_known_content_is_still_recognised() -> None:
    # The consumer computes every digest from the value: the header is only a hint.
    message = without_digest(row_msg(member_row("7"), row_no=3, offset=0))
    batch = run(message, known={digest_of(message): (48, 5, True)})
    assert batch.rows == ()
    assert [r.digest for r in batch.references] == [digest_of(message)]
    assert batch.unchanged == 1


def test_a_referenced_row_names_its_lot_as_a_mapped_row_does() -> None:
    # PostgreSQL text cannot hold NUL: the mapped lot number drops it, so must the reference.
    cells = member_row("12\x003 \x00")
    mapped = run(with_digest(row_msg(cells, row_no=1, offset=0))).rows[0]
    message = with_digest(row_msg(cells, row_no=2, offset=1))
    assert message.value is not None
    referenced = run(message, known={digest_of(message): (48, 0, True)}).references[0]
    assert mapped.mapped is not None
    assert referenced.lot_external_id == mapped.lot_external_id == "123"


def test_headers_out_of_the_producers_order_still_reference_a_known_content() -> None:
    message = with_digest(row_msg(member_row("7"), row_no=3, offset=0))
    assert message.value is not None
    shuffled = dataclasses.replace(message, headers=tuple(reversed(message.headers)))
    batch = run(shuffled, known={digest_of(message): (48, 5, True)})
    assert batch.rows == ()
    assert [(r.lot_external_id, r.row_no) for r in batch.references] == [("7", 3)]
    assert batch.unchanged == 1


def test_a_known_content_with_a_wrong_header_value_is_refused_not_referenced() -> None:
    message = with_digest(row_msg(member_row("7"), row_no=3, offset=0))
    assert message.value is not None
    known: dict[bytes, tuple[int, int, bool] | None] = {digest_of(message): (48, 5, True)}
    for name, value in ((H_CONTRACT, b"v0"), (H_FILE_ID, b"not-a-uuid"), (H_ROW_NO, b"x")):
        broken = dataclasses.replace(
            message,
            offset=1,  # its own position: the outcome must show which message is which
            headers=tuple((n, value if n == name else v) for n, v in message.headers),
        )
        batch = run(message, broken, known=known)
        # The good row is referenced; the broken one is a parse error, never a reference.
        assert [r.kafka_offset for r in batch.references] == [0], name
        assert batch.unchanged == 1, name
        assert [p.record.offset for p in batch.rejections] == [1], name
        assert [p.reason for p in batch.rejections] in (["contract_version"], ["bad_value"])


def test_a_row_of_a_second_file_is_referenced_under_its_own_file() -> None:
    one = with_digest(row_msg(member_row("7"), row_no=1, offset=0, file="a"))
    two = with_digest(row_msg(member_row("7"), row_no=1, offset=1, file="b"))
    assert one.value is not None
    batch = run(one, two, known={digest_of(one): (48, 5, True)})
    assert len({r.file_id for r in batch.references}) == 2
    assert {f.file_id for f in batch.files} == {r.file_id for r in batch.references}


def test_a_digest_header_that_names_another_content_is_never_trusted() -> None:
    seven = row_msg(member_row("7"), row_no=1, offset=0)
    eight = row_msg(member_row("8"), row_no=2, offset=1)
    lying = dataclasses.replace(
        eight, headers=(*without_digest(eight).headers, (H_DIGEST, digest_of(seven).hex().encode()))
    )
    batch = run(lying, known={digest_of(seven): (48, 5, True)})
    (row,) = batch.rows  # lot 8 is mapped and applied, never referenced as lot 7
    assert row.mapped is not None
    assert (row.lot_external_id, row.digest) == ("8", digest_of(eight))
    assert (batch.unchanged, batch.digest_mismatches) == (0, 1)


def test_an_honest_header_and_a_renumbered_row_share_one_content() -> None:
    # The member feed's Id is a row counter: the same lot under another Id is the same content.
    first = row_msg(member_row("7", Id="1"), row_no=1, offset=0)
    again = row_msg(member_row("7", Id="1022"), row_no=9, offset=1)
    assert digest_of(first) == digest_of(again)
    batch = run(again, known={digest_of(first): (48, 5, True)})
    (ref,) = batch.references
    assert (ref.row_no, ref.observed) == (9, ("1022",))
    assert (batch.unchanged, batch.digest_mismatches) == (1, 0)
