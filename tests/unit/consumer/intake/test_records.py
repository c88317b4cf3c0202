"""to_inbound: an aiokafka record as the data path's Inbound."""

from __future__ import annotations

from types import SimpleNamespace

from consumer.intake.records import to_inbound
from consumer.prepare.prepare import prepare_records
from tests.unit.consumer.feedrows import FILES_TOPIC, ROW_TOPIC, member_row, row_msg


def record(headers: object) -> SimpleNamespace:
    return SimpleNamespace(
        topic=ROW_TOPIC, partition=2, offset=41, key=b"7", value=b"{}", headers=headers,
        timestamp=1_700_000_000_000,
    )  # fmt: skip


def test_headers_are_kept_as_they_came() -> None:
    inbound = to_inbound(record([("a", b"1"), ("b", b"")]))
    assert inbound.headers == (("a", b"1"), ("b", b""))
    assert (inbound.partition, inbound.offset, inbound.timestamp_ms) == (2, 41, 1_700_000_000_000)


def test_a_header_without_a_value_becomes_empty_and_is_refused_by_the_contract() -> None:
    # Kafka allows a null header value; it must not fail the fetch loop.
    good = row_msg(member_row("7"), row_no=1, offset=41, partition=2)
    headers = [(n, None if n == "vinops-file-id" else v) for n, v in good.headers]
    inbound = to_inbound(SimpleNamespace(**{**vars(record(headers)), "value": good.value}))
    assert dict(inbound.headers)["vinops-file-id"] == b""
    batch = prepare_records([inbound], row_topic=ROW_TOPIC, files_topic=FILES_TOPIC)
    assert [p.reason for p in batch.rejections] == ["bad_value"]
    assert batch.offsets == {(ROW_TOPIC, 2): 42}


def test_no_headers_at_all() -> None:
    assert to_inbound(record(None)).headers == ()
