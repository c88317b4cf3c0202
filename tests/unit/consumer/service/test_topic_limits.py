"""Topic limits read at start: parsing the broker's answer, and fetch sizes from it."""

from __future__ import annotations

from consumer.service.topic_limits import (
    KAFKA_DEFAULT_MAX_MESSAGE_BYTES,
    MIN_FETCH_BYTES,
    MIN_PARTITION_FETCH_BYTES,
    fetch_sizes,
    parse_limits,
)


def test_described_topics_give_their_limit_and_errors_are_skipped() -> None:
    resources: list[tuple[object, ...]] = [
        (0, "", 2, "rows", [("max.message.bytes", "2000", False, 1, False, [])]),
        (3, "", 2, "missing", []),
    ]
    assert parse_limits(resources) == {"rows": 2000}


def test_fetch_sizes_cover_the_largest_topic_limit() -> None:
    big = 64 * 1024 * 1024
    assert fetch_sizes({"rows": big, "files": 1000}) == (big, big)
    assert fetch_sizes({"rows": KAFKA_DEFAULT_MAX_MESSAGE_BYTES}) == (
        MIN_PARTITION_FETCH_BYTES,
        MIN_FETCH_BYTES,
    )
