"""The real feed's shape, made from the samples: two downloads of one full snapshot, the second
renumbered (member `Id`) or re-observed (camelCase `_lastSeenAt`) on every row, with lots sold,
listed and changed. Shared by the end-to-end, upgrade and benchmark-style tests."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path

from producer.reader import CsvReader

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


@dataclass(frozen=True, slots=True)
class Dialect:
    sample: str
    lot: str
    updated: str
    bid: str
    counter: str  # the observation cell the next download rewrites on every row


MEMBER = Dialect(
    "copart-sample.csv", "Lot number", "Last Updated Time", "High Bid =non-vix,Sealed=Vix", "Id"
)
CAMEL = Dialect("copart-sample-camel.csv", "lotId", "updatedAt", "highBid", "_lastSeenAt")


@dataclass(frozen=True, slots=True)
class Download:
    path: Path
    rows: int
    sold: frozenset[str] = frozenset()
    listed: frozenset[str] = frozenset()
    changed: frozenset[str] = frozenset()


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _observe(dialect: Dialect, header: list[str], rows: list[list[str]], seen: str) -> None:
    """What a download does to the observation cell: a fresh row counter, or its own time."""
    at = header.index(dialect.counter)
    for n, row in enumerate(rows, 1):
        row[at] = str(n) if dialect is MEMBER else seen


def downloads(dialect: Dialect, directory: Path, seed: int) -> tuple[Download, Download]:
    """Two downloads of one feed: the sample's well-formed rows, then the same feed after 2
    lots were sold, 2 listed at random places and 3 changed, the counter cell rewritten."""
    reader = CsvReader(io.BytesIO((SAMPLES / dialect.sample).read_bytes()))
    header = list(reader.header or [])
    rows = [r.fields for r in reader.records() if r.error is None and len(r.fields) == len(header)]
    lot_at, updated_at, bid_at = (
        header.index(c) for c in (dialect.lot, dialect.updated, dialect.bid)
    )
    rows = [row for row in rows if row[lot_at].strip()]
    _observe(dialect, header, rows, "2026-07-10 22:31:14.704")
    first = Download(directory / f"1-{dialect.sample}", len(rows))
    _write(first.path, header, rows)

    rng = random.Random(seed)
    once = [lot for lot in {r[lot_at] for r in rows} if sum(r[lot_at] == lot for r in rows) == 1]
    picked = rng.sample(sorted(once), 5)
    sold, changed = set(picked[:2]), set(picked[2:])
    after = [list(r) for r in rows if r[lot_at] not in sold]
    for row in after:
        if row[lot_at] in changed:
            later = "2031-01-01T00:00:00Z" if dialect is MEMBER else "2031-01-01 00:00:00.000"
            row[updated_at] = later
            row[bid_at] = "1234.0"
    listed: set[str] = set()
    for n in range(2):
        row = list(rng.choice(after))
        row[lot_at] = str(90000000 + n)
        listed.add(row[lot_at])
        after.insert(rng.randrange(len(after) + 1), row)
    _observe(dialect, header, after, "2026-07-11 06:02:51.117")
    second = Download(directory / f"2-{dialect.sample}", len(after), frozenset(sold),
                      frozenset(listed), frozenset(changed))  # fmt: skip
    _write(second.path, header, after)
    return first, second
