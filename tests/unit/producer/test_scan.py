"""The first pass: hash, encoding classification, refusals, header/dialect checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from producer.errors import ExitCode, FileRefusedError
from producer.feedfile import inspect_file
from producer.scan import scan_file

MEMBER = "Id,Lot number,VIN,Year,Make,Yard name,Odometer,Color,Trim\n"


def write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"a\nx\n", "utf-8"),
        (b"\xef\xbb\xbfa\ncaf\xc3\xa9\n", "utf-8-sig"),
        (b"a\ncaf\xe9\n", "cp1252"),
        (b"a\ncaf\xc3\xa9\ncaf\xe9\n", "mixed"),
    ],
)
def test_sha256_size_and_encoding(tmp_path: Path, data: bytes, encoding: str) -> None:
    scan = scan_file(write(tmp_path, data))
    assert scan.sha256 == hashlib.sha256(data).hexdigest()
    assert scan.size == len(data)
    assert scan.encoding == encoding


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"\n<!DOCTYPE html><html><body>Access denied</body></html>", "HTML page"),
        (b"\xef\xbb\xbf<html>", "HTML page"),
        (b"PK\x03\x04\x00\x00", "NUL bytes"),
        (b"\n\n", "no header row"),
        (b"just,some,columns\n1,2,3\n", "no recognisable lot-number column"),
        (b"Lot URL,Lot #,Est. Retail value,Sale date,Year,Make\n", "website search export"),
    ],
)
def test_refusals_are_one_line_with_exit_code_3(tmp_path: Path, data: bytes, reason: str) -> None:
    with pytest.raises(FileRefusedError) as caught:
        inspect_file(write(tmp_path, data))
    assert reason in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.exit_code is ExitCode.REFUSED


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRefusedError, match="no such file"):
        inspect_file(tmp_path / "nope.csv")


def test_member_header_is_recognised(tmp_path: Path) -> None:
    feed = inspect_file(write(tmp_path, MEMBER.encode()))
    assert feed.layout.dialect == "copart-member"
    assert feed.layout.headers[1] == "Lot number"
