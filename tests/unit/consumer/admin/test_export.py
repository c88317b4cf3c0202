"""CsvRebuilder: raw.contents bodies back to CSV records a reader splits into the same cells."""

from __future__ import annotations

import csv
import io

import orjson

from consumer.admin.export import Counts, CsvRebuilder, StoredLayout
from feed.contract import encode_malformed
from feed.keys import message_keys
from producer.reader import CsvReader

HEADER = ["Lot number", "Make", "Note", "Note"]  # a duplicate name: message key 'Note#2'
KEYS = message_keys(HEADER)
LAYOUT = 7


def rebuild(*bodies: tuple[int | None, str | None]) -> tuple[str, list[bool]]:
    out = io.StringIO(newline="")
    writer = CsvRebuilder(HEADER, {LAYOUT: StoredLayout(KEYS)}, out)
    writer.header()
    return out.getvalue(), [writer.row(layout, body) for layout, body in bodies]


def records(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def as_array(*cells: str) -> tuple[int, str]:
    return LAYOUT, orjson.dumps(list(cells)).decode()


def as_object(*cells: str) -> tuple[None, str]:
    return None, orjson.dumps(dict(zip(KEYS, cells, strict=True))).decode()


def written(*bodies: tuple[int | None, str | None]) -> str:
    out = io.StringIO(newline="")
    writer = CsvRebuilder(HEADER, {LAYOUT: StoredLayout(KEYS)}, out)
    writer.header()
    assert all(writer.row(layout, body) for layout, body in bodies)
    return out.getvalue()


def test_array_and_object_bodies_give_their_cells_in_header_order() -> None:
    assert KEYS == ("Lot number", "Make", "Note", "Note#2")
    text = written(as_array("1", "FORD", "a", "b"), as_object("2", "KIA", "c", "d"))
    assert records(text) == [HEADER, ["1", "FORD", "a", "b"], ["2", "KIA", "c", "d"]]
    assert text.endswith("\r\n")


def test_object_keys_out_of_order_are_put_in_header_order() -> None:
    body = orjson.dumps({"Note#2": "d", "Make": "KIA", "Note": "c", "Lot number": "2"}).decode()
    assert records(written((None, body)))[1] == ["2", "KIA", "c", "d"]


def test_array_of_another_layout_is_mapped_by_name() -> None:
    out = io.StringIO(newline="")
    writer = CsvRebuilder(HEADER, {3: StoredLayout(("Make", "Lot number", "Note", "Note#2"))}, out)
    assert writer.row(3, orjson.dumps(["KIA", "2", "c", "d"]).decode())
    assert records(out.getvalue()) == [["2", "KIA", "c", "d"]]


def test_quotes_delimiters_newlines_nul_and_empty_cells_survive() -> None:
    cells = ('He said "hi"', "a,b", "line1\r\nline2\nline3\rend", "")
    nul = ("9", "FO\x00RD", "", "")
    text = written(as_array(*cells), as_object(*nul))
    assert records(text)[1:] == [list(cells), list(nul)]


def test_cp1252_decoded_text_is_written_as_utf8_and_reads_back_equal() -> None:
    # 0x80 is the euro sign in cp1252; 0x81 is undefined there and kept as U+0081.
    source = b"Lot number,Make,Note,Note\r\n5,CITRO\xcbN,caf\xe9 \x80,x\x81\r\n"
    reader = CsvReader(io.BytesIO(source))
    (record,) = list(reader.records())
    assert record.encoding == "cp1252"
    text = written(as_array(*record.fields))
    (back,) = list(CsvReader(io.BytesIO(text.encode("utf-8"))).records())
    assert back.fields == record.fields
    assert record.fields == ["5", "CITRO\xcbN", "caf\xe9 \u20ac", "x\x81"]
    assert "caf\xe9 \u20ac" in text


def test_malformed_raw_text_is_written_verbatim_and_the_next_record_starts_a_line() -> None:
    short = '7,"multi\nline",x\r\n'  # a short row with an embedded newline and CRLF
    last = "8,no line end"
    text = written(
        (None, encode_malformed(short, "3 field(s), the header has 4", ["7", "multi\nline", "x"])
         .decode()),
        (None, encode_malformed(last, "2 field(s), the header has 4", ["8", "no line end"])
         .decode()),
        (None, orjson.dumps({"raw": "{not json", "error": "value is not JSON"}).decode()),
        as_array("9", "KIA", "", ""),
    )  # fmt: skip
    lines = text.split("\r\n", 1)[1]
    assert lines == short + last + "\r\n" + "{not json\r\n" + "9,KIA,,\r\n"


def test_unreadable_contents_are_refused_not_guessed() -> None:
    _, ok = rebuild(
        (None, None),  # a reference without content
        (LAYOUT, orjson.dumps(["1", "2"]).decode()),  # wrong length for its layout
        (99, orjson.dumps(["1", "2", "3", "4"]).decode()),  # unknown layout
        (None, orjson.dumps({"Lot number": "1"}).decode()),  # neither a row nor a wrapper
        (None, "[1, 2, 3, 4]"),  # an array without a layout
    )
    assert ok == [False] * 5


def test_counts_report_missing_and_unknown_completeness() -> None:
    assert Counts(written=5, missing=0).problems() == []
    assert Counts(written=5, missing=2, unreadable=1).problems() == [
        "2 published row(s) missing from raw.file_rows",
        "1 row(s) without a readable content",
    ]
    assert Counts(written=5).problems() == [
        "the file's publication never completed: completeness unknown"
    ]


def test_observation_cells_are_put_back_where_the_layout_names_them() -> None:
    # The member feed's Id is kept per row, not in the body: NULL means the row number.
    header = ["Id", "Lot number", "Make"]
    out = io.StringIO(newline="")
    writer = CsvRebuilder(header, {5: StoredLayout(("Id", "Lot number", "Make"), (1,))}, out)
    body = orjson.dumps(["7", "FORD"]).decode()
    assert writer.row(5, body, 12, None)
    assert writer.row(5, body, 13, ["40"])
    assert not writer.row(5, body, 14, ["1", "2"])  # more cells than the layout keeps
    assert records(out.getvalue()) == [["12", "7", "FORD"], ["40", "7", "FORD"]]


def test_a_cell_in_the_middle_is_put_back_in_its_place() -> None:
    header = ["a", "_lastSeenAt", "b"]
    out = io.StringIO(newline="")
    writer = CsvRebuilder(header, {2: StoredLayout(tuple(header), (2,))}, out)
    assert writer.row(2, orjson.dumps(["x", "y"]).decode(), 1, ["2026-07-10 22:31:14.704"])
    assert records(out.getvalue()) == [["x", "2026-07-10 22:31:14.704", "y"]]
