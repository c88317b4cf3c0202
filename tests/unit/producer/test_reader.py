"""The streaming reader: records, row numbers, encodings, malformed detection."""

from __future__ import annotations

import inspect
import io

from producer.reader import CP1252, UTF8, CsvReader, Record, decode_line


def read(data: bytes) -> tuple[list[str] | None, list[Record], CsvReader]:
    reader = CsvReader(io.BytesIO(data))
    return reader.header, list(reader.records()), reader


def test_quoted_newlines_make_one_record_and_row_numbers_count_records() -> None:
    data = b'a,b\n1,"two\nlines"\n2,"x"\n'
    header, records, _ = read(data)
    assert header == ["a", "b"]
    assert [r.fields for r in records] == [["1", "two\nlines"], ["2", "x"]]
    assert [r.row_no for r in records] == [1, 2]
    assert records[0].raw == '1,"two\nlines"\n'


def test_crlf_and_embedded_crlf_are_kept_exactly() -> None:
    header, records, _ = read(b'a,b\r\n1,"x\r\ny"\r\n2,z\r\n')
    assert header == ["a", "b"]
    assert [r.fields for r in records] == [["1", "x\r\ny"], ["2", "z"]]
    assert records[1].raw == "2,z\r\n"


def test_bom_is_not_part_of_the_first_header() -> None:
    header, records, reader = read(b'\xef\xbb\xbf"Lot number",b\n1,2\n')
    assert header == ["Lot number", "b"]
    assert reader.bom
    assert records[0].fields == ["1", "2"]


def test_header_names_with_commas_and_quotes() -> None:
    header, _, _ = read(b'"High Bid =non-vix,Sealed=Vix","say ""hi"""\n')
    assert header == ["High Bid =non-vix,Sealed=Vix", 'say "hi"']


def test_cp1252_fallback_per_row_never_drops_bytes() -> None:
    data = b"a,b\n1,caf\xc3\xa9\n2,caf\xe9 \x80 \x81\n3,x\n"
    _, records, _ = read(data)
    assert [r.encoding for r in records] == [UTF8, CP1252, UTF8]
    assert records[0].fields[1] == "café"
    # 0x80 is the euro sign in cp1252; 0x81 is undefined there and kept as U+0081.
    assert records[1].fields[1] == "café € \x81"


def test_decode_line_reports_the_fallback() -> None:
    assert decode_line(b"abc") == ("abc", False)
    assert decode_line(b"\x93q\x94") == ("\u201cq\u201d", True)


def test_short_and_long_rows_are_records_with_their_raw_text() -> None:
    _, records, _ = read(b"a,b,c\n1,2\n1,2,3,4\n")
    assert [len(r.fields) for r in records] == [2, 4]
    assert [r.raw for r in records] == ["1,2\n", "1,2,3,4\n"]


def test_blank_lines_are_numbered_records_without_fields() -> None:
    _, records, _ = read(b"a\n1\n\n2\n")
    assert [(r.row_no, r.fields) for r in records] == [(1, ["1"]), (2, []), (3, ["2"])]


def test_large_quoted_field() -> None:
    big = "x" * 100_000
    _, records, _ = read(f'a,b\n1,"{big}"\n'.encode())
    assert records[0].fields == ["1", big]


def test_runaway_quote_becomes_an_error_record_not_unbounded_memory() -> None:
    data = b'a,b\n1,"never closed\n' + b"filler line\n" * 40_000 + b"2,ok\n"
    _, records, _ = read(data)
    assert records[0].error is not None
    assert records[0].error.startswith("csv:")
    assert sum(len(r.raw) for r in records) == len(data) - len(b"a,b\n")


def test_header_only_and_empty_stream() -> None:
    assert read(b"a,b\r\n")[0:2] == (["a", "b"], [])
    assert read(b"")[0:2] == (None, [])


def test_reader_streams_records_through_a_generator() -> None:
    reader = CsvReader(io.BytesIO(b"a\n1\n2\n"))
    records = reader.records()
    is_generator = inspect.isgenerator(records)  # kept apart: the TypeGuard would erase Record
    assert is_generator
    first = next(records)
    # Only the lines of the first record were consumed: nothing is read ahead.
    assert first.offset == len(b"a\n1\n")
