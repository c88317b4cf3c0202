"""Rows -> messages: keys, values, headers, malformed, duplicate header names."""

from __future__ import annotations

import io

import orjson

from feed.contract import (
    H_DIGEST,
    RowKind,
    RowMeta,
    decode_value,
    file_id_for,
    malformed_key,
    row_digest,
)
from feed.dialects import detect
from feed.keys import message_keys
from producer.messages import MessageBuilder, is_blank
from producer.reader import CsvReader

SHA = "ab" * 32
MEMBER = ["Id", "Lot number", "VIN", "Year", "Make", "Yard name", "Odometer", "Color", "Trim"]


def build(data: bytes) -> list[tuple[bytes, dict[str, object], RowMeta, bool]]:
    reader = CsvReader(io.BytesIO(data))
    assert reader.header is not None
    builder = MessageBuilder(detect(reader.header), file_id_for(SHA), SHA)
    out = []
    for record in reader.records():
        if is_blank(record):
            continue
        m = builder.build(record)
        out.append(
            (m.key, decode_value(m.value), RowMeta.from_kafka_headers(m.headers), m.malformed)
        )
    return out


def test_duplicate_header_names_get_numbered_suffixes() -> None:
    assert message_keys(["a", "b", "a", "a"]) == ("a", "b", "a#2", "a#3")
    # A real header already named "a#2" keeps its name; the duplicate skips to #3.
    assert message_keys(["a", "a#2", "a"]) == ("a", "a#2", "a#3")


def test_row_message_is_the_contract() -> None:
    header = ",".join(MEMBER).encode()
    [(key, value, meta, malformed)] = build(
        header + b"\n1,26519090,VIN1,2010,TOYOTA,Y,1.0,RED,LE\n"
    )
    assert key == b"26519090"
    assert value == dict(
        zip(
            MEMBER,
            ["1", "26519090", "VIN1", "2010", "TOYOTA", "Y", "1.0", "RED", "LE"],
            strict=True,
        )
    )
    assert meta == RowMeta(file_id=file_id_for(SHA), sha256=SHA, row_no=1, dialect="copart-member")
    assert not malformed


def test_value_keeps_header_order_and_duplicates() -> None:
    names = [*MEMBER, "Make"]
    data = (",".join(names) + "\n1,7,V,2010,A,Y,1,R,T,B\n").encode()
    [(_, value, _, _)] = build(data)
    assert list(value) == [*MEMBER, "Make#2"]
    assert value["Make"] == "A"
    assert value["Make#2"] == "B"


def test_headers_equal_rowmeta_kafka_headers_byte_for_byte() -> None:
    reader = CsvReader(io.BytesIO((",".join(MEMBER) + "\n1,7,V,2010,A,Y,1,R,T\n").encode()))
    assert reader.header is not None
    builder = MessageBuilder(detect(reader.header), file_id_for(SHA), SHA)
    message = builder.build(next(reader.records()))
    expected = RowMeta(file_id_for(SHA), SHA, 1, "copart-member").kafka_headers()
    # The digest leaves the row counter out: a renumbered row is the same content.
    digest = row_digest(message.value, "copart-member")[0]
    assert message.headers == [*expected, (H_DIGEST, digest.hex().encode())]
    assert message.value == orjson.dumps(
        dict(
            zip(
                builder.keys,
                ["1", "7", "V", "2010", "A", "Y", "1", "R", "T"],
                strict=True,
            )
        )
    )


def test_malformed_rows_keep_raw_text_reason_and_a_key() -> None:
    header = ",".join(MEMBER).encode()
    data = header + b"\n1,555,V\n2,,V,2010,A,Y,1,R,T\n3,777,V,2010,A,Y,1,R,T,extra\n\n"
    rows = build(data)
    assert [m for *_, m in rows] == [True, True, True]
    short, empty_lot, long = rows
    assert short[0] == b"555"
    assert short[1] == {
        "raw": "1,555,V\n",
        "error": "3 field(s), the header has 9",
        "fields": ["1", "555", "V"],
    }
    assert short[2].kind is RowKind.MALFORMED
    assert empty_lot[0] == malformed_key(SHA, 2).encode()
    assert empty_lot[1]["error"] == "empty lot number"
    assert long[0] == b"777"
    assert long[1]["raw"] == "3,777,V,2010,A,Y,1,R,T,extra\n"


def test_malformed_without_lot_position_uses_the_malformed_key() -> None:
    rows = build((",".join(MEMBER) + "\nonly-one-field\n").encode())
    assert rows[0][0] == malformed_key(SHA, 1).encode()
