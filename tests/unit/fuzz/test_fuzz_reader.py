"""Fuzzing the producer's reading: arbitrary bytes never crash it and lose no record.

Properties, for any bytes after a recognised header (quotes, separators, CR/LF/CRLF, NUL,
BOMs, invalid UTF-8, cp1252, long runs):
- the records' raw texts, joined, are exactly the decoded bytes after the header (every
  physical record is accounted for, none twice, none cut);
- every record is a row message, a malformed message holding its raw text, or a blank
  line (only line ends: nothing to lose), numbered 1..N without a gap;
- the reading process hands over exactly those messages and never reports a failure;
- a whole file of arbitrary bytes is inspected or refused with ``FileRefusedError``;
- any header variant is recognised (with a lot-number column) or refused with ``DialectError``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from feed.contract import file_id_for
from feed.dialects import CAMEL_COLUMNS, MEMBER_COLUMNS, DialectError, detect, layout_for
from feed.keys import message_keys
from producer import pipeline
from producer.errors import FileRefusedError
from producer.feedfile import inspect_file
from producer.messages import MessageBuilder, is_blank
from producer.pipeline import MALFORMED_FLAG, receive
from producer.reader import BOM, CP1252, UTF8, CsvReader, decode_line
from producer.scan import scan_file
from tests.unit.fuzz.profile import fuzz
from tests.unit.producer.test_pipeline import Pipe

SHA = "ab" * 32
HEADER = ["Id", "Lot number", "VIN", "Year", "Make", "Yard name", "Odometer", "Color", "Trim"]
HEADER_LINE = b"Id,Lot number,VIN,Year,Make,Yard name,Odometer,Color,Trim\r\n"
LAYOUT = detect(HEADER)

# Bytes that matter to a CSV reader or a decoder, plus arbitrary ones.
_TOKENS = st.sampled_from(
    [b",", b'"', b'""', b"\n", b"\r\n", b"\r", b" ", b"\t", b"\x00", BOM, b"\xff\xfe",
     "\u00c9".encode(CP1252), "\u00c9".encode(), "\u20ac".encode(CP1252), "\u20ac".encode(),
     b"\x81", b"\x8d", b"\xe2\x82", b"\xc3", "\U0001f697".encode(), b"[PREMIUM]", b"123"]
)  # fmt: skip
_FIELD = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", " ", '"', "a,b", "x\ny", "\r", "[PREMIUM]", "26000001", "MONTR\u00c9AL"]
)


@st.composite
def csv_line(draw: st.DrawFn) -> bytes:
    """A well-formed (or nearly: a random field count) record, in UTF-8 or cp1252."""
    fields: list[str] = draw(st.lists(_FIELD, min_size=0, max_size=len(HEADER) + 2))
    padded: bool = draw(st.booleans())
    if fields and padded:
        fields = (fields + [""] * len(HEADER))[: len(HEADER)]  # often the right count
    out = io.StringIO()
    quote_all: bool = draw(st.booleans())
    ending = draw(st.sampled_from(["\r\n", "\n"]))
    writer = csv.writer(
        out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator=ending
    )
    writer.writerow(fields)
    encoding = draw(st.sampled_from([UTF8, CP1252]))
    return out.getvalue().encode(encoding, "replace")


BODY = st.lists(csv_line() | _TOKENS | st.binary(max_size=16), max_size=40).map(b"".join)


def decoded_lines(data: bytes) -> str:
    """The text the reader must account for: each physical line decoded on its own."""
    return "".join(decode_line(line)[0] for line in io.BytesIO(data))


def records_of(data: bytes) -> tuple[CsvReader, list[Any]]:
    reader = CsvReader(io.BytesIO(data))
    return reader, list(reader.records())


@fuzz(200)
@given(BODY)
@example(b'"unterminated\r\nquote, still open')
@example(b"a,b\rc\n\x00,\n\n\r\n")
@example(b"1," + b"x" * 10 + b'"' + b"\xff" * 3 + b"\n")
def test_every_physical_record_is_accounted_for(body: bytes) -> None:
    data = HEADER_LINE + body
    reader, records = records_of(data)
    assert reader.header == HEADER
    assert "".join(r.raw for r in records) == decoded_lines(body)
    assert [r.row_no for r in records] == list(range(1, len(records) + 1))
    assert reader.offset == len(data)
    builder = MessageBuilder(LAYOUT, file_id_for(SHA), SHA)
    keys = message_keys(HEADER)
    for record in records:
        assert record.encoding in (UTF8, CP1252)
        if is_blank(record):
            assert set(record.raw) <= {"\r", "\n"}, record  # a blank record holds no data
            continue
        message = builder.build(record)
        value = orjson.loads(message.value)
        if message.malformed:
            assert value["raw"] == record.raw  # the exact text travels
        else:
            assert value == dict(zip(keys, record.fields, strict=True))
            assert message.key == record.fields[LAYOUT.lot_index].strip().encode()


@fuzz(80)
@given(BODY)
@example(b"\n\n" + b"1,2,3\n" * 3 + b"\r\n")
def test_the_reading_process_sends_every_non_blank_record(body: bytes) -> None:
    data = HEADER_LINE + body
    _, records = records_of(data)
    wanted = [r.row_no for r in records if not is_blank(r)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_bytes(data)
        conn = Pipe()
        pipeline._build_chunks(str(path), LAYOUT, file_id_for(SHA), SHA, conn)  # type: ignore[arg-type]
    chunks = []
    while (chunk := receive(conn)) is not None:  # type: ignore[arg-type]  # raises WorkerError
        chunks.append(chunk)
    sent = [n for c in chunks for n in c.row_nos]
    assert sent == wanted
    assert sum(c.blank for c in chunks) + len(sent) == len(records)
    flagged = sum(1 for c in chunks for f in c.flags if f & MALFORMED_FLAG)
    assert sum(c.malformed for c in chunks) == flagged


@fuzz(100)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.tuples(st.sampled_from([b"", BOM]), BODY).map(b"".join),
        st.tuples(st.sampled_from([HEADER_LINE, BOM + HEADER_LINE]), BODY).map(b"".join),
    )
)
@example(b"")
@example(BOM)
@example(b"<html><body>blocked</body></html>")
@example(b"\n\n\nLot number\n")
@example(b'"Id,Lot number\n')
def test_any_file_is_inspected_or_refused_in_one_line(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_bytes(data)
        try:
            feed = inspect_file(path)
        except FileRefusedError as exc:
            refused: str | None = str(exc)
        else:
            refused = None
            scan = scan_file(path)
    if refused is not None:
        assert "\n" not in refused
        return
    assert scan.sha256 == hashlib.sha256(data).hexdigest() == feed.sha256
    assert scan.encoding in ("utf-8", "utf-8-sig", "cp1252", "mixed")
    assert feed.layout.fields[feed.layout.lot_index] == "lot_number"


_NAMES = sorted({*MEMBER_COLUMNS, *CAMEL_COLUMNS, "Lot URL", "Lot #", "Id", "", "lot number"})


@st.composite
def header_variant(draw: st.DrawFn) -> list[str]:
    names = draw(st.lists(st.sampled_from(_NAMES) | st.text(max_size=10), max_size=70))
    pad = st.sampled_from(["", " ", "\t", "\u00a0", "\ufeff"])
    return [draw(pad) + n + draw(pad) if draw(st.booleans()) else n for n in names]


@fuzz(200)
@given(header_variant())
@example(list(MEMBER_COLUMNS))
@example([" Lot number ", "Lot number", *list(MEMBER_COLUMNS)[:9]])
@example(["Lot URL", "Lot #", *list(MEMBER_COLUMNS)])
def test_any_header_is_recognised_or_refused_in_one_line(headers: list[str]) -> None:
    try:
        layout = detect(headers)
    except DialectError as exc:
        refused: str | None = str(exc)
    else:
        refused = None
    if refused is not None:
        assert "\n" not in refused or "\n" in "".join(headers)  # quoted from the header
        return
    assert layout.fields[layout.lot_index] == "lot_number"
    assert layout_for(layout.dialect, headers) == layout  # the consumer rebuilds the same
    keys = message_keys(headers)
    assert len(set(keys)) == len(keys) == len(headers)  # no column lost in the JSON object
