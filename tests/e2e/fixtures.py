"""Deterministic Copart-like CSV files for end-to-end and fault tests, with their expectations.

Every generated data row is also described by a ``Row`` so tests can compute what the
database must hold (last write wins by source time, malformed rows kept but not mapped).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feed.layouts import CAMEL_61, MEMBER_59

MEMBER_HEADERS = MEMBER_59

CAMEL_HEADERS = CAMEL_61

_BASE = datetime(2020, 6, 6, 7, 0, tzinfo=UTC)


def vin_for(lot: int) -> str:
    """A syntactically valid 17-character VIN, distinct per lot (check digit not guaranteed)."""
    return f"1HGCM82633A{lot % 1_000_000:06d}"


@dataclass(frozen=True, slots=True)
class Row:
    file: str
    row_no: int
    lot: str | None  # None for malformed rows
    updated_at: datetime | None
    yard_name: str
    vin_raw: str
    malformed: bool = False


@dataclass(slots=True)
class Feed:
    """A set of generated files and every row in them."""

    files: dict[str, Path] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def of(self, names: Iterable[str]) -> list[Row]:
        wanted = set(names)
        return [r for r in self.rows if r.file in wanted]


def winners(rows: Sequence[Row]) -> dict[str, Row]:
    """The version of each lot that must stand: greatest source time (this feed has no two
    different versions with one source time; the sink gives those to the larger digest)."""
    best: dict[str, Row] = {}
    for r in rows:
        if r.malformed or r.lot is None or r.updated_at is None:
            continue
        cur = best.get(r.lot)
        if cur is None or r.updated_at >= cur.updated_at:  # type: ignore[operator]
            best[r.lot] = r
    return best


def _member_values(lot: int, row_no: int, updated: datetime, yard: str, vin: str) -> list[str]:
    scheduled = lot % 2 == 0
    return [
        str(row_no), str(lot % 5 + 1), yard, "20200702" if scheduled else "0",
        "THU" if scheduled else "", "1200", ("EDT", "PST", "HST", "CDT")[lot % 4], str(row_no),
        str(lot), "V", "2010", "TOYOTA", "CAMRY", "CAMRY LE", "SEDAN 4D", "BLACK", "FRONT END",
        "", "CA", "SC", ("YES", "NO", "EXM")[lot % 3], "D", vin, "172691.0", "A", "20314.23",
        "0.0", "2.0L 4", "Front-wheel Drive", ("AUTOMATIC", "Automatic")[lot % 2], "GAS", "4",
        "Run & Drive Verified", "Pure Sale", "275.0", "NOTE".ljust(28), "VALLEJO", "CA",
        "94590 7203", "USA", "USD", f"cs.copart.com/v1/AUTH_svc.pdoc00001/PIX243/{lot}_thb.JPG",
        "2020-06-30-10.50.12.000197", "A1", "N", "0.0",
        f"http://inventory.copart.io/v1/lotImages/{lot}?country=us&brand=cprt&yardNumber=1",
        "LE", updated.strftime("%Y-%m-%dT%H:%M:%SZ"), "N", "N", "SELLER INC", "", "", "", "",
        "G", "3.5", "",
    ]  # fmt: skip


def _camel_values(lot: int, row_no: int, updated: datetime, yard: str, vin: str) -> list[str]:
    scheduled = lot % 2 == 0
    return [
        f"pk{lot}", "2026-02-01 10:00:00.000", "2026-02-25 19:54:28.000", str(lot),
        updated.strftime("%Y-%m-%d %H:%M:%S.000"), vin, str(lot % 5 + 1), yard,
        "2020-07-02" if scheduled else "", "THU" if scheduled else "", "1200",
        ("EDT", "PST", "HST", "CDT")[lot % 4], str(row_no), "V", "2010", "TOYOTA", "CAMRY",
        "CAMRY LE", "SEDAN 4D", "BLACK", "FRONT END", "", "CA", "SC", "true", "D", "172691",
        "A", "[PREMIUM]", "0", "2.0L 4", "Front-wheel Drive", "Automatic", "Gas", "4",
        "Run & Drive Verified", "Pure Sale", "[PREMIUM]", "NOTE", "VALLEJO", "CA", "94590",
        "USA", "USD", f"cs.copart.com/v1/AUTH_svc.pdoc00001/PIX243/{lot}_thb.JPG",
        f"http://inventory.copart.io/v1/lotImages/{lot}?country=us&brand=cprt&yardNumber=1",
        "A1", "false", "0", "LE", "false", "false", "SELLER INC", "", "", "", "", "G", "3.5", "",
        f"https://www.copart.com/lot/{lot}",
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Spec:
    """One row to write: a lot version, or a malformed line (``malformed`` = reason)."""

    lot: int | None
    minutes: int = 0  # source time = base + minutes
    yard: str = "YARD"
    vin: str | None = None  # None = vin_for(lot)
    malformed: str | None = None  # 'csv_field_count' | 'no_lot_number'


def write_file(feed: Feed, name: str, path: Path, dialect: str, specs: Sequence[Spec]) -> Path:
    headers = MEMBER_HEADERS if dialect == "member" else CAMEL_HEADERS
    values_of = _member_values if dialect == "member" else _camel_values
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(headers)
    for row_no, spec in enumerate(specs, start=1):
        if spec.malformed == "csv_field_count":
            buf.write('"only","three","fields"\r\n')
            feed.rows.append(Row(name, row_no, None, None, "", "", malformed=True))
            continue
        lot = spec.lot if spec.lot is not None else 0
        updated = _BASE + timedelta(minutes=spec.minutes)
        vin = vin_for(lot) if spec.vin is None else spec.vin
        values = values_of(lot, row_no, updated, spec.yard, vin)
        if spec.malformed == "no_lot_number":
            values[headers.index("Lot number" if dialect == "member" else "lotId")] = ""
            writer.writerow(values)
            feed.rows.append(Row(name, row_no, None, None, spec.yard, vin, malformed=True))
            continue
        writer.writerow(values)
        feed.rows.append(Row(name, row_no, str(lot), updated, spec.yard, vin))
    path.write_bytes(buf.getvalue().encode("utf-8"))
    feed.files[name] = path
    return path


def realistic_feed(directory: Path) -> Feed:
    """Four small files: two dialects, cross-file updates, an in-file duplicate, bad rows.

    A (member, 2020 times): lots 1..40; lot 5 twice, newer FIRST; a transliterated VIN (O for
       0), a masked VIN, an empty VIN, a junk VIN; one short line and one row without a lot.
    B (camel, newer times): lots 21..50, so B wins for 21..40; lot 50's VIN is [PREMIUM].
    C (member, OLDER times than A): ten lots of 1..15 -> all stale.
    D (member): lots 100..104 only, published twice in idempotence tests.
    """
    feed = Feed()
    a: list[Spec] = []
    for lot in range(1, 41):
        vin = None
        if lot == 7:
            vin = vin_for(7).replace("0", "O")
        elif lot == 8:
            vin = "5N1DL0MM5KC******"
        elif lot == 9:
            vin = ""
        elif lot == 11:
            vin = "123456789"
        a.append(Spec(lot, minutes=100 + lot, yard="A YARD", vin=vin))
        if lot == 5:
            a.append(Spec(5, minutes=90, yard="A OLDER DUP"))  # same lot, older, after
    a.insert(20, Spec(None, malformed="csv_field_count"))
    a.insert(30, Spec(None, malformed="no_lot_number"))
    write_file(feed, "A", directory / "a_member.csv", "member", a)
    b = [Spec(lot, minutes=10_000 + lot, yard="B YARD") for lot in range(21, 50)]
    b.append(Spec(50, minutes=10_050, yard="B YARD", vin="[PREMIUM]"))
    write_file(feed, "B", directory / "b_camel.csv", "camel", b)
    # C avoids the lots whose VIN is special in A, so every lot keeps one VIN across files.
    c = [Spec(lot, minutes=lot, yard="C STALE") for lot in (1, 2, 3, 4, 5, 6, 12, 13, 14, 15)]
    write_file(feed, "C", directory / "c_member_old.csv", "member", c)
    d = [Spec(lot, minutes=500, yard="D YARD") for lot in range(100, 105)]
    write_file(feed, "D", directory / "d_member.csv", "member", d)
    return feed


def big_feed(path: Path, rows: int = 50_000) -> Feed:
    """One member file of ``rows`` rows: 90% new lots, 10% later updates of earlier lots."""
    feed = Feed()
    specs: list[Spec] = []
    distinct = rows * 9 // 10
    for i in range(rows):
        if i < distinct:
            specs.append(Spec(1_000_000 + i, minutes=i % 1000, yard=f"Y{i % 7}"))
        else:
            lot = 1_000_000 + (i - distinct) * 7
            specs.append(Spec(lot, minutes=5000 + i % 100, yard="UPDATED"))
    specs[1234] = Spec(None, malformed="csv_field_count")
    write_file(feed, "BIG", path, "member", specs)
    return feed


# A sentence that lz4 shrinks ~100-fold: the producer's batches stay under the broker's
# 1 MB limit however long the row (as with the real 3 MB note of issue 18).
_FILLER = "PRIOR DAMAGE REPORTED, SEE NOTES; "


def oversized_feed(path: Path, good: int = 300) -> Feed:
    """``good`` member rows, one of them (a third in) with a 3 MB note, and two thirds in a
    broken quote that swallows three 4 MB lines (12 MB): a file a new user may well publish.
    ``feed.rows`` lists the rows as generated (row numbers before the broken quote)."""
    feed = Feed()
    specs = [Spec(2_000_000 + i, minutes=i, yard="OVER YARD") for i in range(good)]
    write_file(feed, "OVER", path, "member", specs)
    lines = path.read_bytes().split(b"\r\n")
    note_row, broken_after = good // 3, 2 * good // 3
    fields = next(csv.reader([lines[note_row].decode()]))
    fields[MEMBER_HEADERS.index("Special Note")] = _long(3_000_000).decode()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    lines[note_row] = buf.getvalue().encode()
    chunk = _long(4_000_000)
    broken = [b'0,1,"BROKEN ' + chunk, chunk, chunk + b'",END']
    cut = broken_after + 1  # the header is line 0
    path.write_bytes(b"\r\n".join([*lines[:cut], *broken, *lines[cut:]]))
    return feed


def _long(size: int) -> bytes:
    return (_FILLER * (size // len(_FILLER) + 1))[:size].encode()
