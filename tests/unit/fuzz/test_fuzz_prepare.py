"""Fuzzing the consumer's decoding and mapping of messages: never an escaping exception.

Messages with arbitrary keys, values (bytes, any JSON, feed rows with any cell, file events
with any field) and headers (missing, duplicated, null, garbage, wrong digests) go through
``to_inbound`` (aiokafka record -> Inbound) and ``prepare`` as one batch. Properties:
- ``prepare`` returns (an exception would fail the whole batch, again on every restart);
- every row message ends as a raw row, a parse error or a dead letter (a file event: merged
  into its file, or those), and is a raw row once at most;
- the batch's offsets cover every message: per partition, the last offset + 1;
- the winners point at mapped rows; ``reject`` (the database refused them) takes any message.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord
from hypothesis import example, given
from hypothesis import strategies as st

from consumer.intake.records import Inbound, to_inbound
from consumer.prepare.prepare import prepare_records
from consumer.prepare.prepared import PreparedBatch
from consumer.prepare.rejects import reject
from feed.contract import (
    H_CONTRACT,
    H_DIALECT,
    H_DIGEST,
    H_ENCODING,
    H_FILE_ID,
    H_KIND,
    H_ROW_NO,
    H_SHA256,
    FileAborted,
    FileCompleted,
    FileStarted,
    RowKind,
    RowMeta,
    content_digest,
    digest_header,
    encode_file_event,
    encode_malformed,
    file_id_for,
    row_digest,
)
from tests.unit.consumer.feedrows import FILES_TOPIC, MEMBER_HEADERS, ROW_TOPIC, decoded, member_row
from tests.unit.fuzz.profile import fuzz

SHA = "ef" * 32
META = RowMeta(file_id=file_id_for(SHA), sha256=SHA, row_no=1, dialect="copart-member")

# Cells that have upset parsers elsewhere: non-ASCII digits, huge exponents, odd dates.
_TRICKY = [
    "", " ", "0", "-1", "1E999999999", "9e99999", "1e-999999", "NaN", "-Infinity", "sNaN",
    "2020070\u00b2", "\u00b2\u00b2\u00b2\u00b2-01-01", "\u0663\u0663\u0663\u0663", "\uff11\uff12",
    "2020-06-06T07:01:00+23:59", "9999-12-31T23:59:59", "1900-01-01T00:30:00+01:00",
    "2020-06-30-10.50.12.000197", "24:60", "12:3x", "[PREMIUM]", "[]", "\x00", "a\x00b",
    "YES", "EXM", "172691.0", "0.0", "99999999999999.99", "\ud7ff", "\u2028",
]  # fmt: skip
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=4,
)  # fmt: skip
_CELL = st.sampled_from(_TRICKY) | st.text(max_size=30) | _JSON


@st.composite
def row_value(draw: st.DrawFn) -> bytes | None:
    """A feed row with fuzzed cells (often), any JSON, any bytes, or no value at all."""
    kind = draw(st.integers(0, 5))
    if kind <= 2:
        row: dict[str, Any] = member_row(draw(st.sampled_from(["1", "  ", "", "26000001"])))
        row.update(draw(st.dictionaries(st.sampled_from(MEMBER_HEADERS), _CELL, max_size=5)))
        if draw(st.booleans()):
            row.pop(draw(st.sampled_from(MEMBER_HEADERS)), None)
        if draw(st.booleans()):
            row[draw(st.text(max_size=10))] = draw(_CELL)
        return orjson.dumps(row)
    if kind == 3:
        raw = draw(st.text(max_size=40))
        return encode_malformed(
            raw, draw(st.text(max_size=40)), draw(st.lists(st.text(max_size=5)))
        )
    if kind == 4:
        return orjson.dumps(draw(_JSON))
    return draw(st.none() | st.binary(max_size=60))


_HEADER_VALUE = (
    st.none()
    | st.binary(max_size=40)
    | st.sampled_from(
        [
            b"",
            b"1",
            b"-5",
            b"\xff",
            b"row",
            b"malformed",
            b"copart-camel",
            b"copart-search",
            b"x" * 32,
        ]
    )
)


_NAMES = [H_FILE_ID, H_SHA256, H_ROW_NO, H_DIALECT, H_CONTRACT, H_KIND, H_ENCODING, H_DIGEST, "x"]


@st.composite
def row_headers(draw: st.DrawFn, value: bytes | None) -> list[tuple[str, bytes | None]]:
    kind = draw(st.sampled_from(list(RowKind)))
    meta = RowMeta(META.file_id, SHA, draw(st.integers(0, 10**6)), META.dialect, kind)
    headers: list[tuple[str, bytes | None]] = list(meta.kafka_headers())
    if value is not None and draw(st.booleans()):
        headers.append(digest_header(value, META.dialect))
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(_NAMES))
        action = draw(st.integers(0, 2))
        if action == 0:
            headers = [h for h in headers if h[0] != name]
        elif action == 1:
            headers = [(n, draw(_HEADER_VALUE)) if n == name else (n, v) for n, v in headers]
        else:
            headers.append((name, draw(_HEADER_VALUE)))
    return headers


_ISO = st.sampled_from(["2024-01-02T03:04:05Z", "", "not a date", "2024-13-01"]) | _JSON


@st.composite
def file_value(draw: st.DrawFn) -> bytes | None:
    """A file event with any field replaced by any JSON value, or anything else."""
    file_id = str(file_id_for(SHA))
    events: list[Any] = [
        FileStarted(file_id, SHA, "/f.csv", 10, list(MEMBER_HEADERS), "copart-member", "utf-8",
                    "2024-01-02T03:04:05Z"),
        FileCompleted(file_id, SHA, 3, 0, 1.0, "2024-01-02T03:05:00Z"),
        FileAborted(file_id, SHA, 1, "interrupted", "2024-01-02T03:05:00Z"),
    ]  # fmt: skip
    data = orjson.loads(encode_file_event(draw(st.sampled_from(events))))
    if draw(st.integers(0, 4)) == 0:
        return draw(st.none() | st.binary(max_size=40) | _JSON.map(orjson.dumps))
    for name in draw(st.lists(st.sampled_from(sorted(data)), max_size=3, unique=True)):
        data[name] = draw(_ISO if name.endswith("_at") else _JSON)
    if draw(st.booleans()):
        data[draw(st.text(max_size=6))] = draw(_JSON)
    return orjson.dumps(data)


@st.composite
def record(draw: st.DrawFn, offset: int) -> ConsumerRecord[bytes, bytes]:
    topic = draw(st.sampled_from([ROW_TOPIC, ROW_TOPIC, ROW_TOPIC, FILES_TOPIC, "other"]))
    value = draw(file_value() if topic == FILES_TOPIC else row_value())
    headers = (
        draw(row_headers(value))
        if topic != FILES_TOPIC
        else draw(st.lists(st.tuples(st.text(max_size=5), _HEADER_VALUE), max_size=2))
    )
    key = draw(st.none() | st.binary(max_size=12) | st.just(b"26000001"))
    return ConsumerRecord(
        topic=topic, partition=draw(st.integers(0, 2)), offset=offset, timestamp=1_700_000_000_000,
        timestamp_type=0, key=key, value=value, checksum=None, serialized_key_size=-1,
        serialized_value_size=-1, headers=headers,
    )  # fmt: skip


@st.composite
def batch(draw: st.DrawFn) -> list[ConsumerRecord[bytes, bytes]]:
    n = draw(st.integers(1, 6))
    return [draw(record(offset)) for offset in range(100, 100 + n)]


def _known(messages: list[Inbound], applied: bool) -> dict[bytes, tuple[int, int, bool] | None]:
    """Some contents of the batch as already stored (applied or not), whole or with the member
    feed's Id cut out."""
    known: dict[bytes, tuple[int, int, bool] | None] = {}
    for m in messages[::2]:
        known[content_digest(m.value or b"")] = (59, 3, False) if applied else None
        known[row_digest(m.value or b"", "copart-member")[0]] = (59, 3, True) if applied else None
    return known


def check(messages: list[Inbound], prepared: PreparedBatch) -> None:
    ids = [id(m) for m in messages]
    as_rows = [id(r.record) for r in prepared.rows]
    assert len(as_rows) == len(set(as_rows)), "a message stored as two raw rows"
    # Every raw row has its reference; a content already applied has the reference alone.
    at = [(r.kafka_partition, r.kafka_offset) for r in prepared.references]
    assert len(at) == len(set(at)), "a message referenced twice in raw.file_rows"
    assert {(r.record.partition, r.record.offset) for r in prepared.rows} <= set(at)
    referenced = {id(m) for m in messages if m.topic == ROW_TOPIC and (m.partition, m.offset) in at}
    ended = (
        set(as_rows)
        | referenced
        | {id(p.record) for p in prepared.rejections}
        | {id(d.record) for d in prepared.rejections}
    )
    events = {f.file_id for f in prepared.files if f.has_event}
    for m in messages:  # a file event that is not rejected is merged into its file
        if m.topic == FILES_TOPIC and id(m) not in ended:
            assert uuid.UUID(orjson.loads(m.value or b"")["file_id"]) in events
            ended.add(id(m))
    assert set(ids) <= ended, "a message neither stored, recorded nor dead-lettered"
    # Worked out here, not with the function that made them: the next offset of each
    # partition is one past its last message, the first is its first message's.
    next_offsets: dict[tuple[str, int], int] = {}
    first_offsets: dict[tuple[str, int], int] = {}
    for m in messages:
        key = (m.topic, m.partition)
        next_offsets[key] = max(next_offsets.get(key, 0), m.offset + 1)
        first_offsets[key] = min(first_offsets.get(key, m.offset), m.offset)
    assert dict(prepared.offsets) == next_offsets
    assert {key: prepared.offsets.start(key) for key in first_offsets} == first_offsets
    for i in prepared.winners.lots + prepared.winners.sale_events:
        assert prepared.rows[i].mapped is not None


@fuzz(150)
@given(batch(), st.sampled_from([None, False, True]))
@example(
    [ConsumerRecord(FILES_TOPIC, 0, 5, 1, 0, None,
                    orjson.dumps({"file_id": None, "sha256": SHA, "path": "/f", "bytes": 1,
                                  "headers": [], "dialect": "copart-member", "encoding": "utf-8",
                                  "started_at": 5, "event": "started", "contract": "1"}),
                    None, -1, -1, [])],  # uuid.UUID(None), _iso(5): a TypeError, not a reject
    None,
)  # fmt: skip
@example(
    [ConsumerRecord(ROW_TOPIC, 0, 5, 1, 0, b"1", orjson.dumps(member_row("1")), None, -1, -1,
                    [*META.kafka_headers(), (H_DIGEST, None)])],  # a null header value
    None,
)  # fmt: skip
@example(
    [ConsumerRecord(ROW_TOPIC, 0, 5, 1, 0, b"1", orjson.dumps(member_row("1", Year="1E999999999")),
                    None, -1, -1, META.kafka_headers())],  # int() of a 10^999999999 decimal
    None,
)  # fmt: skip
@example(
    [ConsumerRecord(ROW_TOPIC, 0, 5, 1, 0, b"1",
                    orjson.dumps(member_row("1", **{"Sale Date M/D/CY": "2020070\u00b2"})),
                    None, -1, -1, META.kafka_headers())],  # "²".isdigit() but int("²") fails
    None,
)  # fmt: skip
def test_every_message_ends_as_a_row_a_parse_error_or_a_dead_letter(
    records: list[ConsumerRecord[bytes, bytes]], known: bool | None
) -> None:
    messages = [to_inbound(r) for r in records]
    prepared = prepare_records(
        messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC,
        known=None if known is None else _known(messages, known), max_row_bytes=2000,
    )  # fmt: skip
    check(messages, prepared)


@fuzz(50)
@given(batch())
def test_a_refused_batch_rejects_every_message(records: list[ConsumerRecord[bytes, bytes]]) -> None:
    messages = [to_inbound(r) for r in records]
    rejected = reject(decoded(messages), reason="db_refused", error=ValueError("refused\nhere"))
    check(messages, rejected)
    assert len(rejected.rejections) == len(messages)
    assert all(p.file_id is None or isinstance(p.file_id, uuid.UUID) for p in rejected.rejections)
