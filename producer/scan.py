"""The fast first pass over a file: SHA-256, size, file encoding, and refusal of non-CSVs.

The SHA-256 is needed before any row is read (it decides whether the file was already
published), so the file is hashed first in 1 MiB chunks; the same pass validates UTF-8
incrementally and sniffs the first bytes for HTML/binary content, so that a refused file
is refused before anything is sent.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

from producer.errors import FileRefusedError
from producer.reader import BOM, decode_line

CHUNK = 1024 * 1024
# A physical line longer than this is not a line-oriented CSV (and would cost its size in
# memory to read): refuse the file up front rather than half-publish it.
MAX_LINE = 16 * CHUNK


@dataclass(frozen=True, slots=True)
class FileScan:
    path: Path
    size: int
    sha256: str
    encoding: str  # utf-8 | utf-8-sig | cp1252 | mixed


def sniff(head: bytes) -> str | None:
    """Why the first bytes of a file show it is not a CSV, or None."""
    text = head.removeprefix(BOM).lstrip()
    lowered = text[:512].lower()
    if text.startswith(b"<") or b"<html" in lowered or b"<!doctype" in lowered:
        return "looks like an HTML page (a blocked download?), not a CSV"
    if b"\x00" in head:
        return "contains NUL bytes: binary data, not a CSV"
    return None


def scan_file(path: Path) -> FileScan:
    """Hash and classify a file, or raise ``FileRefusedError`` with a one-line reason."""
    digest = hashlib.sha256()
    validator = codecs.getincrementaldecoder("utf-8")("strict")
    valid_utf8 = True
    size = 0
    since_newline = 0
    try:
        with path.open("rb") as stream:
            head = stream.read(CHUNK)
            if not head:
                raise FileRefusedError(f"{path}: empty file")
            if (reason := sniff(head)) is not None:
                raise FileRefusedError(f"{path}: {reason}")
            chunk = head
            while chunk:
                digest.update(chunk)
                size += len(chunk)
                last = chunk.rfind(b"\n")
                since_newline = since_newline + len(chunk) if last < 0 else len(chunk) - last - 1
                if since_newline > MAX_LINE:
                    raise FileRefusedError(
                        f"{path}: a line longer than {MAX_LINE} bytes: not a CSV"
                    )
                if valid_utf8 and not (chunk.isascii() and not validator.getstate()[0]):
                    try:
                        validator.decode(chunk)
                    except UnicodeDecodeError:
                        valid_utf8 = False
                chunk = stream.read(CHUNK)
            if valid_utf8:
                try:
                    validator.decode(b"", final=True)
                except UnicodeDecodeError:
                    valid_utf8 = False
            bom = head.startswith(BOM)
    except FileNotFoundError:
        raise FileRefusedError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileRefusedError(f"{path}: is a directory") from None
    except OSError as exc:
        raise FileRefusedError(f"{path}: cannot read: {exc.strerror or exc}") from None
    encoding = ("utf-8-sig" if bom else "utf-8") if valid_utf8 else _classify_lines(path, bom)
    return FileScan(path=path, size=size, sha256=digest.hexdigest(), encoding=encoding)


def _classify_lines(path: Path, bom: bool) -> str:
    """cp1252 when every non-ASCII line needs the fallback, mixed when some are UTF-8."""
    utf8_lines = bom
    with path.open("rb") as stream:
        for raw in stream:
            if not raw.isascii() and not decode_line(raw.removeprefix(BOM))[1]:
                utf8_lines = True
                break
    return "mixed" if utf8_lines else "cp1252"
