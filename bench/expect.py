"""What a database must hold after ingesting a file, computed from the file alone."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Expected:
    rows: int  # physical records: every one must land in raw.file_rows
    good: int  # records with the header's field count
    lots: frozenset[str]  # distinct lot numbers of good records: public.lots rows


def _lines(path: Path) -> Iterator[str]:
    with path.open("rb") as f:
        for raw in f:
            try:
                yield raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                yield raw.decode("cp1252", "replace")


def expected(paths: list[Path]) -> Expected:
    rows = good = 0
    lots: set[str] = set()
    for path in paths:
        reader = csv.reader(_lines(path))
        header = next(reader)
        lot_at = header.index("Lot number") if "Lot number" in header else header.index("lotId")
        for record in reader:
            rows += 1
            if len(record) == len(header) and record[lot_at].strip():
                good += 1
                lots.add(record[lot_at].strip())
    return Expected(rows=rows, good=good, lots=frozenset(lots))
