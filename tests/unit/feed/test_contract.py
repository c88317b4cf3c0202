import uuid

import pytest

from feed.contract import (
    CONTRACT_VERSION,
    H_CONTRACT,
    H_ROW_NO,
    ROW_HEADERS,
    ContractError,
    FileAborted,
    FileCompleted,
    FileStarted,
    RowKind,
    RowMeta,
    content_digest,
    decode_file_event,
    decode_value,
    digest_header,
    encode_file_event,
    encode_malformed,
    encode_row,
    file_id_for,
    file_position,
    header_digest,
    header_map,
    parse_digest,
)

SHA = "ab" * 32


def test_file_id_is_derived_from_the_sha256() -> None:
    assert file_id_for(SHA) == file_id_for(SHA.upper())
    assert file_id_for(SHA) != file_id_for("cd" * 32)
    assert isinstance(file_id_for(SHA), uuid.UUID)


def test_row_meta_round_trips_through_kafka_headers() -> None:
    meta = RowMeta(
        file_id=file_id_for(SHA), sha256=SHA, row_no=7, dialect="copart-member",
        kind=RowKind.MALFORMED, encoding="cp1252",
    )  # fmt: skip
    assert RowMeta.from_kafka_headers(meta.kafka_headers()) == meta


def test_missing_headers_are_named() -> None:
    with pytest.raises(ContractError, match="vinops-file-id"):
        RowMeta.from_kafka_headers([(H_ROW_NO, b"1")])
    with pytest.raises(ContractError, match="missing"):
        RowMeta.from_kafka_headers(None)


def test_wrong_contract_version_is_refused() -> None:
    meta = RowMeta(file_id=file_id_for(SHA), sha256=SHA, row_no=1, dialect="copart-member")
    headers = [(k, v) for k, v in meta.kafka_headers() if k != H_CONTRACT]
    with pytest.raises(ContractError, match="contract version"):
        RowMeta.from_kafka_headers([*headers, (H_CONTRACT, b"99")])


def test_bad_row_number_is_a_contract_error() -> None:
    meta = RowMeta(file_id=file_id_for(SHA), sha256=SHA, row_no=1, dialect="copart-member")
    headers = [(k, v) for k, v in meta.kafka_headers() if k != H_ROW_NO]
    with pytest.raises(ContractError, match="bad header value"):
        RowMeta.from_kafka_headers([*headers, (H_ROW_NO, b"one")])


def test_row_values_keep_order_and_text_exactly() -> None:
    values = {"Lot number": "26519090", "Special Note": "ROOF DAMAGE" + " " * 17, "B": '"q"'}
    decoded = decode_value(encode_row(values))
    assert list(decoded.items()) == list(values.items())


def test_malformed_row_value() -> None:
    decoded = decode_value(encode_malformed('1,"2\n', "csv_field_count", ["1", "2"]))
    assert decoded == {"raw": '1,"2\n', "error": "csv_field_count", "fields": ["1", "2"]}


@pytest.mark.parametrize(
    ("value", "match"),
    [(None, "no value"), (b"not json", "not JSON"), (b"[1, 2]", "JSON list")],
)
def test_undecodable_values(value: bytes | None, match: str) -> None:
    with pytest.raises(ContractError, match=match):
        decode_value(value)


@pytest.mark.parametrize(
    "event",
    [
        FileStarted(
            file_id=str(file_id_for(SHA)), sha256=SHA, path="/in/a.csv", bytes=10,
            headers=["Lot number", "VIN"], dialect="copart-member", encoding="utf-8",
            started_at="2026-11-24T00:00:00Z",
        ),
        FileCompleted(
            file_id=str(file_id_for(SHA)), sha256=SHA, rows=3, malformed=1, seconds=0.5,
            completed_at="2026-11-24T00:00:01Z",
        ),
        FileAborted(
            file_id=str(file_id_for(SHA)), sha256=SHA, rows=2, reason="interrupted",
            aborted_at="2026-11-24T00:00:01Z",
        ),
    ],
)  # fmt: skip
def test_file_events_round_trip(event: FileStarted | FileCompleted | FileAborted) -> None:
    assert decode_file_event(encode_file_event(event)) == event
    assert event.contract == CONTRACT_VERSION


def test_unknown_file_event_is_refused() -> None:
    with pytest.raises(ContractError, match="unknown file event"):
        decode_file_event(b'{"event": "exploded"}')
    with pytest.raises(ContractError, match="fields"):
        decode_file_event(b'{"event": "started", "nope": 1}')


def test_the_producer_writes_a_rows_headers_in_row_headers_order() -> None:
    meta = RowMeta(file_id=uuid.uuid4(), sha256="ab" * 32, row_no=7, dialect="copart-member")
    headers = (*meta.kafka_headers(), digest_header(b"{}"))
    assert tuple(name for name, _ in headers) == ROW_HEADERS
    assert header_digest(headers) == content_digest(b"{}")
    assert header_digest(tuple(reversed(headers))) == content_digest(b"{}")


def test_a_digest_header_that_is_not_one_is_ignored() -> None:
    for text in (b"", b"zz" * 16, b"ab" * 15, b"ab" * 17, None):
        assert parse_digest(text) is None
    assert parse_digest(b"AB" * 16) == bytes([0xAB]) * 16


def test_header_checks_say_their_reason() -> None:
    """The consumer records a refused row under the reason the contract's error names."""
    meta = RowMeta(file_id=file_id_for(SHA), sha256=SHA, row_no=3, dialect="copart-member")
    found = header_map(meta.kafka_headers())
    assert RowMeta.from_header_map(found) == meta
    assert file_position(found) == (meta.file_id, 3)
    cases = {
        "missing_headers": {k: v for k, v in found.items() if k != H_ROW_NO},
        "contract_version": {**found, H_CONTRACT: b"99"},
        "bad_value": {**found, H_ROW_NO: b"three"},
    }
    for reason, headers in cases.items():
        with pytest.raises(ContractError) as raised:
            RowMeta.from_header_map(headers)
        assert raised.value.reason == reason
    assert file_position(cases["bad_value"]) == (None, None)
