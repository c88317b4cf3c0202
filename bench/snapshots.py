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
from dataclasses import asdict, dataclass
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


def _lots(path: Path, lot_name: str = _LOT) -> tuple[list[str], list[str]]:
    """The header and the distinct lot numbers of well-formed records, in file order."""
    with path.open("rb") as f:
        it = records(f)
        header = _cells(next(it).removeprefix(b"\xef\xbb\xbf"))[0]
        at = header.index(lot_name)
        seen: dict[str, None] = {}
        for record in it:
            cells = _cells(record)[0]
            if len(cells) == len(header) and cells[at].strip():
                seen[cells[at].strip()] = None
    return header, list(seen)


def distinct_lots(path: Path) -> list[str]:
    """The distinct lot numbers of a member file's well-formed records."""
    return _lots(path)[1]


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


# ---- the feed's real shape: lots sold and listed, the row counter renumbered ----------------
SOLD, LISTED = 0.02, 0.02
_CAMEL_LOT, _CAMEL_UPDATED, _CAMEL_SEEN = "lotId", "updatedAt", "_lastSeenAt"
_CAMEL_DATE, _CAMEL_DAY, _CAMEL_STATUS = "saleDate", "saleDayOfWeek", "saleStatus"
# The next download's own time: a re-export writes it into _lastSeenAt of every row.
NEXT_DOWNLOAD = "2026-07-11 06:02:51.117"


@dataclass(frozen=True, slots=True)
class RealSnapshot:
    path: Path
    rows: int  # physical records after the header
    sold_lots: int
    listed_lots: int
    changed_lots: int
    changed_rows: int


def _camel_change(cells: dict[str, str], rng: random.Random) -> None:
    """A newer version of a camelCase row: later update time, sale date and status."""
    updated = datetime.strptime(cells[_CAMEL_UPDATED], "%Y-%m-%d %H:%M:%S.%f")
    later = updated + timedelta(days=1, seconds=rng.randint(60, 7200))
    cells[_CAMEL_UPDATED] = (
        later.strftime("%Y-%m-%d %H:%M:%S.") + f"{later.microsecond // 1000:03d}"
    )
    day = later.date() + timedelta(days=rng.randint(1, 6))
    cells[_CAMEL_DATE] = day.isoformat()
    cells[_CAMEL_DAY] = c.DAYS[day.weekday()]
    cells[_CAMEL_STATUS] = rng.choice([s for s in c.SALE_STATUSES if s != cells[_CAMEL_STATUS]])


def write_realistic(
    prev: Path, out: Path, dialect: str, seed: int = 29, *, sold: float = SOLD,
    listed: float = LISTED,
) -> RealSnapshot:  # fmt: skip
    """The next download of ``prev`` as the real feed makes it: 2% of the lots sold (their rows
    gone), 2% listed (new rows at random places), 5% changed, and then every row's
    observation cell rewritten: the member feed's Id renumbered 1..N in the new order, a
    camelCase re-export's _lastSeenAt set to the download's time. Every other cell of an
    unchanged lot stays as it was."""
    member = dialect == "member"
    lot_name = _LOT if member else _CAMEL_LOT
    header, lots = _lots(prev, lot_name)
    rng = random.Random(f"vinops-real:{seed}:{dialect}")
    order = sorted(lots)
    picked = rng.sample(order, round(len(order) * (sold + SHARE)))
    gone = set(picked[: round(len(order) * sold)])
    changed = set(picked[len(gone) :])
    listed_n = round(len(order) * listed)
    # A listing lands after a random record; new lot numbers are not any lot's of the file.
    taken = set(lots)
    new_lots: list[str] = []
    while len(new_lots) < listed_n:
        lot = str(rng.randint(90_000_000, 99_999_999))
        if lot not in taken:
            taken.add(lot)
            new_lots.append(lot)
    at = header.index(lot_name)
    seen_at = None if member else header.index(_CAMEL_SEEN)
    counter = 0
    changed_rows = 0

    def emit(cells: list[str], encoding: str, eol: str) -> bytes:
        nonlocal counter
        counter += 1
        if member:
            cells[0] = str(counter)
            return (_line(header, dict(zip(header, cells, strict=True))) + eol).encode(encoding)
        if seen_at is not None and len(cells) > seen_at:
            cells[seen_at] = NEXT_DOWNLOAD
        text = io.StringIO(newline="")
        csv.writer(text, lineterminator=eol).writerow(cells)
        return text.getvalue().encode(encoding)

    good: list[list[str]] = []

    def listing(slots: list[int]) -> list[str]:
        """A new lot's row: a copy of a row already written, under a lot number never seen."""
        slots.pop(0)
        row = list(rng.choice(good))
        row[at] = new_lots[listed_n - len(slots) - 1]
        return row

    slots = sorted(rng.sample(range(1, max(len(lots), listed_n) + 1), listed_n))
    partial = out.with_name(out.name + ".part")
    with prev.open("rb") as src, partial.open("wb", buffering=1 << 20) as dst:
        it = records(src)
        dst.write(next(it))
        for record in it:
            cells, encoding, eol = _cells(record)
            well_formed = len(cells) == len(header)
            lot = cells[at].strip() if well_formed else ""
            if lot in gone:
                continue
            if member and not well_formed:
                # Malformed: its bytes, with the counter that leads every record renumbered.
                counter += 1
                head, _, rest = record.partition(b",")
                dst.write(b"%d," % counter + rest if head.strip().isdigit() else record)
                continue
            if lot in changed:
                row = dict(zip(header, cells, strict=True))
                change_rng = random.Random(f"vinops-real:{seed}:{lot}")
                (change if member else _camel_change)(row, change_rng)
                cells = [row[h] for h in header]
                changed_rows += 1
            if well_formed:
                good.append(cells)
            if not member and not well_formed:
                dst.write(emit(list(cells), encoding, eol))
                continue
            if member and well_formed and lot not in changed:
                # Unchanged: its bytes but for the leading counter.
                counter += 1
                _, _, rest = record.partition(b",")
                dst.write(b"%d," % counter + rest)
            else:
                dst.write(emit(list(cells), encoding, eol))
            while slots and slots[0] <= len(good):
                dst.write(emit(listing(slots), "utf-8", eol))
        while slots:  # slots past the last row left: the listings go at the end
            dst.write(emit(listing(slots), "utf-8", "\r\n" if member else "\n"))
    partial.replace(out)
    result = RealSnapshot(out, counter, len(gone), listed_n, len(changed), changed_rows)
    meta = {k: v for k, v in asdict(result).items() if k != "path"}
    out.with_name(out.name + ".json").write_bytes(orjson.dumps(meta))
    return result


def realistic(base: Path, dialect: str, seed: int = 29) -> RealSnapshot:
    """The realistic next download of ``base`` (cached next to it)."""
    out = base.with_name(f"{base.stem}-real{base.suffix}")
    meta = out.with_name(out.name + ".json")
    if out.exists() and meta.exists():
        return RealSnapshot(out, **orjson.loads(meta.read_bytes()))
    return write_realistic(base, out, dialect, seed)
