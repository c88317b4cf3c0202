"""Dead letters that do not fit the topic: cut to fit, saying what was cut and where the
database keeps the whole message (pure functions of consumer.store.dlq)."""

from __future__ import annotations

import hashlib

from consumer.prepare.prepare import prepare_records
from consumer.prepare.prepared import Rejection
from consumer.store.dlq import (
    CUT_VALUE_BYTES,
    Stored,
    cut_letter,
    dead_letter_headers,
    record_size,
    stored_of,
)
from tests.unit.consumer.feedrows import FILES_TOPIC, ROW_TOPIC, member_row, row_msg

LIMIT = 1_048_588


def _letter(value: bytes) -> Rejection:
    return Rejection(
        row_msg(value, row_no=3, offset=9),
        "oversized",
        "too long",
        "oversized",
        "oversized",
        None,
        None,
        None,
    )


def test_a_cut_letter_fits_and_says_what_was_cut_and_where_the_rest_is() -> None:
    value = b"A" * 3_000_000
    letter = _letter(value)
    headers = dead_letter_headers(letter, "c1")
    stored = Stored(parse_error_key="f:3", raw_row="f:3")
    fitted = cut_letter(letter, headers, stored, LIMIT)
    assert fitted is not None
    kept, cut_headers = fitted
    assert kept == value[:CUT_VALUE_BYTES]
    assert record_size(letter.record.key, kept, cut_headers) <= LIMIT
    found = dict(cut_headers)
    assert found["vinops-value-bytes"] == b"3000000"
    assert found["vinops-value-sha256"] == hashlib.sha256(value).hexdigest().encode()
    assert found["vinops-value-cut-to"] == str(CUT_VALUE_BYTES).encode()
    assert found["vinops-stored-parse-error"] == b"f:3"
    assert found["vinops-stored-raw-row"] == b"f:3"
    assert found["vinops-reason"] == b"oversized"
    assert cut_headers[: len(headers)] == headers  # the same headers first


def test_a_small_limit_keeps_less_of_the_value() -> None:
    letter = _letter(b"B" * 100_000)
    headers = dead_letter_headers(letter, "c1")
    fitted = cut_letter(letter, headers, Stored("f:3"), 2000)
    assert fitted is not None
    kept, cut_headers = fitted
    assert 0 < len(kept) < 2000
    assert record_size(letter.record.key, kept, cut_headers) <= 2000
    assert dict(cut_headers)["vinops-value-cut-to"] == str(len(kept)).encode()


def test_nothing_fits_a_limit_below_the_headers() -> None:
    letter = _letter(b"C" * 10)
    assert cut_letter(letter, dead_letter_headers(letter, "c1"), Stored(), 200) is None


def test_stored_names_the_parse_error_and_the_raw_row() -> None:
    big = row_msg(member_row("7"), row_no=2, offset=1)
    bad = row_msg(b"{not json", row_no=3, offset=2)
    batch = prepare_records(
        [big, bad], row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, max_row_bytes=100
    )
    stored = stored_of(batch)
    file_id = batch.rows[0].meta.file_id
    assert stored[(ROW_TOPIC, 0, 1)] == Stored(f"{file_id}:2", f"{file_id}:2")
    assert stored[(ROW_TOPIC, 0, 2)] == Stored(f"{file_id}:3", f"{file_id}:3")
