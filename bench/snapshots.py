"""Repeated full snapshots: snapshot k+1 is snapshot k with a few percent of the lots changed.

The member feed is a full list of every lot for sale, downloaded again and again; between
two downloads a few lots change (bid, sale date, status, and so their Last Updated Time)
and every other row is byte for byte the same. ``snapshot(base, k)`` writes snapshot k
(1 = the base file itself) next to the base in the bench cache: a seeded choice of
``share`` of the distinct lots of snapshot k-1 gets a newer Last Updated Time, another bid,
sale date (and its day of week) and status; every other record is copied as its bytes.
Deterministic: the same base, k and seed give the same bytes.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import orjson

from bench import catalog as c
from bench.layouts import MEMBER, quote
from bench.lots import iso_z, money

SHARE = 0.05
_LOT, _UPDATED = "Lot number", "Last Updated Time"
_BID, _DATE, _DAY, _STATUS = (
    "High Bid =non-vix,Sealed=Vix",
    "Sale Date M/D/CY",
    "Day of Week",
    "Sale Status",
)
_QUOTED = {h: q for h, _, q in MEMBER}


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: Path
    index: int
    changed_lots: int
    changed_rows: int


def records(stream: BinaryIO) -> Iterator[bytes]:
    """Physical CSV records as bytes (a quoted field may span lines): quotes pair up."""
    pending = b""
    for line in stream:
        pending += line
        if pending.count(b'"') % 2 == 0:
            yield pending
            pending = b""
    if pending:
        yield pending


def _decode(record: bytes) -> tuple[str, str]:
    try:
        return record.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return record.decode("cp1252"), "cp1252"


def _cells(record: bytes) -> tuple[list[str], str, str]:
    text, encoding = _decode(record)
    body = text.rstrip("\r\n")
    return next(csv.reader(io.StringIO(body))), encoding, text[len(body) :]


def _lots(path: Path) -> tuple[list[str], list[str]]:
    """The header and the distinct lot numbers of well-formed records, in file order."""
    with path.open("rb") as f:
        it = records(f)
        header = _cells(next(it).removeprefix(b"\xef\xbb\xbf"))[0]
        at = header.index(_LOT)
        seen: dict[str, None] = {}
        for record in it:
            cells = _cells(record)[0]
            if len(cells) == len(header) and cells[at].strip():
                seen[cells[at].strip()] = None
    return header, list(seen)


def chosen(lots: list[str], k: int, seed: int, share: float = SHARE) -> set[str]:
    rng = random.Random(f"vinops-snapshot:{seed}:{k}")
    return set(rng.sample(sorted(lots), round(len(lots) * share)))


def change(cells: dict[str, str], rng: random.Random) -> None:
    """A newer version of one row: later update time, another bid, sale date and status."""
    updated = datetime.strptime(cells[_UPDATED], "%Y-%m-%dT%H:%M:%SZ")
    cells[_UPDATED] = iso_z(updated + timedelta(days=1, seconds=rng.randint(60, 7200)))
    bid = float(cells[_BID] or 0) + 25 * rng.randint(1, 40)
    cells[_BID] = money(bid)
    old = cells[_DATE]
    day = datetime.strptime(old, "%Y%m%d").date() if old != "0" else updated.date()
    day += timedelta(days=rng.randint(1, 6))  # never 7: the day of the week changes too
    cells[_DATE] = day.strftime("%Y%m%d")
    cells[_DAY] = c.DAYS[day.weekday()]
    cells[_STATUS] = rng.choice([s for s in c.SALE_STATUSES if s != cells[_STATUS]])


def _line(header: list[str], cells: dict[str, str]) -> str:
    return ",".join(quote(cells[h]) if _QUOTED.get(h, True) else cells[h] for h in header)


def snapshot_path(base: Path, k: int) -> Path:
    return base if k == 1 else base.with_name(f"{base.stem}-snap{k}{base.suffix}")


def write_next(prev: Path, out: Path, k: int, seed: int, share: float = SHARE) -> Snapshot:
    """Snapshot k from snapshot k-1 (``prev``)."""
    header, lots = _lots(prev)
    picked = chosen(lots, k, seed, share)
    at = header.index(_LOT)
    changed_rows = 0
    partial = out.with_name(out.name + ".part")
    with prev.open("rb") as src, partial.open("wb", buffering=1 << 20) as dst:
        it = records(src)
        dst.write(next(it))
        for record in it:
            cells, encoding, eol = _cells(record)
            lot = cells[at].strip() if len(cells) == len(header) else ""
            if lot not in picked:
                dst.write(record)
                continue
            row = dict(zip(header, cells, strict=True))
            # Seeded by lot: both copies of a lot listed twice change the same way.
            change(row, random.Random(f"vinops-snapshot:{seed}:{k}:{lot}"))
            dst.write((_line(header, row) + eol).encode(encoding))
            changed_rows += 1
    partial.replace(out)
    out.with_name(out.name + ".json").write_bytes(
        orjson.dumps({"changed_lots": len(picked), "changed_rows": changed_rows})
    )
    return Snapshot(out, k, len(picked), changed_rows)


def snapshot(base: Path, k: int, seed: int = 7, share: float = SHARE) -> Snapshot:
    """Snapshot k of the series starting at ``base`` (cached; earlier ones written first)."""
    if k == 1:
        return Snapshot(base, 1, 0, 0)
    out = snapshot_path(base, k)
    prev = snapshot(base, k - 1, seed, share).path
    meta = out.with_name(out.name + ".json")
    if out.exists() and meta.exists():
        counts = orjson.loads(meta.read_bytes())
        return Snapshot(out, k, int(counts["changed_lots"]), int(counts["changed_rows"]))
    return write_next(prev, out, k, seed, share)
