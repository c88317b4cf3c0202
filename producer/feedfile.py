"""A file checked before anything of it is sent: hashed, sniffed, header and dialect known."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from feed.contract import file_id_for
from feed.dialects import DialectError, Layout, detect
from producer.errors import FileRefusedError
from producer.reader import CsvReader
from producer.scan import FileScan, scan_file


@dataclass(frozen=True, slots=True)
class FeedFile:
    scan: FileScan
    layout: Layout

    @property
    def path(self) -> Path:
        return self.scan.path

    @property
    def sha256(self) -> str:
        return self.scan.sha256

    @property
    def file_id(self) -> uuid.UUID:
        return file_id_for(self.scan.sha256)


def inspect_file(path: Path) -> FeedFile:
    """Everything that can refuse a file, done before the first message: ``FileRefusedError``."""
    scan = scan_file(path)
    with path.open("rb") as stream:
        header = CsvReader(stream).header
    if not header or all(not name.strip() for name in header):
        raise FileRefusedError(f"{path}: no header row")
    try:
        layout = detect(header)
    except DialectError as exc:
        raise FileRefusedError(f"{path}: {exc}") from None
    return FeedFile(scan=scan, layout=layout)
