"""Deterministic generator of realistic Copart feed files (member 59-column or camelCase).

    python -m bench.generate --rows 200000 [--seed 7] [--file-index K] [--out PATH]
        [--dialect member|camel] [--crlf] [--bom] [--malformed N] [--duplicates N]
    python -m bench.generate --samples samples/     # the two bundled sample files

The same arguments always give the same bytes. File k re-lists about a fifth of the lots
of file k-1 with a newer Last Updated Time (same --seed, same --rows); inside one file a
few lots appear twice with different update times, and a few rows have too few or too
many fields. Writing streams row by row: memory does not grow with --rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.catalog import CP1252_SELLER
from bench.layouts import CAMEL_HEADERS, MEMBER_HEADERS, camel_cells, member_line, quote
from bench.lots import Stable, as_of, lot_of, stable, volatile
from bench.vins import VARIANTS

DEFAULT_DIR = Path.home() / ".cache" / "vinops" / "bench"
# Rows forced to show every rare quirk early in small (showcase) files such as the samples.
SHOWCASE: tuple[str, ...] = (*(name for name, _ in VARIANTS), "cp1252", "multiline")


@dataclass(frozen=True, slots=True)
class Spec:
    rows: int
    seed: int = 7
    file_index: int = 0
    dialect: str = "member"  # or "camel"
    crlf: bool = False
    bom: bool = False
    malformed: int | None = None  # None: 2 per 40,000 rows, at least 2 (0 below 50 rows)
    duplicates: int | None = None  # None: 1 per 1,000 rows, at least 1 (0 below 50 rows)
    relist_share: float = 0.2  # share of rows of file k>0 that re-list a lot of file k-1
    cp1252_share: float = 0.002  # of Canadian lots, x10: seller name written in cp1252
    camel_masked_share: float = 0.7  # camel rows whose paid-only fields say [PREMIUM]
    showcase: bool = False  # force every rare quirk into the first rows

    @property
    def malformed_count(self) -> int:
        if self.malformed is not None:
            return self.malformed
        return 0 if self.rows < 50 else max(2, self.rows // 20_000)

    @property
    def duplicate_count(self) -> int:
        if self.duplicates is not None:
            return self.duplicates
        return 0 if self.rows < 50 else max(1, self.rows // 1_000)

    def default_path(self) -> Path:
        name = f"copart-{self.dialect}-{self.rows}-s{self.seed}-f{self.file_index}.csv"
        return DEFAULT_DIR / name


@dataclass(frozen=True, slots=True)
class Result:
    path: Path
    rows: int  # physical data records written (malformed and duplicates included)
    malformed: int
    duplicates: int
    relisted: int
    bytes: int


def _spread(count: int, rows: int, taken: set[int], offset: int) -> set[int]:
    """Evenly spaced row positions (never row 0, never an already-taken one)."""
    out: set[int] = set()
    for k in range(count):
        pos = max(1, (2 * k + offset) * rows // (2 * count + 1))
        while pos in taken or pos in out:
            pos = pos + 1 if pos + 1 < rows else 1
        out.add(pos)
    return out


class _Rows:
    """Yields (cells, stable) for each row of a file; all randomness flows from the spec."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.rng = random.Random(f"vinops:{spec.seed}:{spec.file_index}")
        self.malformed = _spread(spec.malformed_count, spec.rows, set(), 1)
        # Alternately five fields short and one field long, in file order.
        self.short = set(sorted(self.malformed)[::2])
        self.duplicate_at = _spread(spec.duplicate_count, spec.rows, self.malformed, 2)
        self.recent: deque[tuple[Stable, int]] = deque(maxlen=256)
        self.relisted = 0

    def row(self, i: int) -> tuple[dict[str, str], Stable]:
        spec, rng = self.spec, self.rng
        today = as_of(spec.file_index)
        forced = SHOWCASE[i - 1] if spec.showcase and 1 <= i <= len(SHOWCASE) else None
        if i in self.duplicate_at and self.recent:
            lot, seconds = rng.choice(self.recent)
            # The second copy may be newer or older than the first: order must not matter.
            seconds += rng.choice((-1, 1)) * rng.randint(60, 7200)
        else:
            lot_no = lot_of(spec.file_index, i)
            if spec.file_index > 0 and i not in self.malformed and rng.random() < spec.relist_share:
                lot_no = lot_of(spec.file_index - 1, rng.randrange(spec.rows))
                self.relisted += 1
            lot = stable(spec.seed, lot_no, spec.cp1252_share, forced)
            seconds = rng.randint(7200, 72_000)
            if i not in self.malformed:
                self.recent.append((lot, seconds))
        updated = today - timedelta(seconds=seconds)
        fields = volatile(
            rng, lot, spec.file_index, i + 1, updated, multiline=forced == "multiline"
        )
        return fields, lot


def _member_bytes(rows: _Rows, i: int, eol: str) -> bytes:
    fields, _ = rows.row(i)
    cells = member_line(fields)
    if i in rows.malformed:
        cells = cells[:-5] if i in rows.short else [*cells, quote("EXTRA")]
    line = ",".join(cells) + eol
    # Some exports are Windows-1252: keep such rows' bytes non-UTF-8, as they are in the wild.
    return line.encode("cp1252" if fields["seller_name"] == CP1252_SELLER else "utf-8")


def generate(spec: Spec, out: Path | None = None) -> Result:
    """Write one file; returns what was written (for benchmarks' expected counts)."""
    if spec.dialect not in {"member", "camel"}:
        raise ValueError(f"unknown dialect {spec.dialect!r} (member or camel)")
    path = out or spec.default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    eol = "\r\n" if spec.crlf else "\n"
    rows = _Rows(spec)
    # Written aside and renamed at the end: a cached file is either complete or absent.
    partial = path.with_name(path.name + ".part")
    with partial.open("wb", buffering=1 << 20) as f:
        if spec.bom:
            f.write(b"\xef\xbb\xbf")
        if spec.dialect == "member":
            f.write((",".join(quote(h) for h in MEMBER_HEADERS) + eol).encode())
            for i in range(spec.rows):
                f.write(_member_bytes(rows, i, eol))
        else:
            text = io.TextIOWrapper(f, encoding="utf-8", newline="", write_through=True)
            writer = csv.writer(text, lineterminator=eol)
            writer.writerow(CAMEL_HEADERS)
            for i in range(spec.rows):
                fields, _ = rows.row(i)
                masked = rows.rng.random() < spec.camel_masked_share
                cells = camel_cells(fields, masked)
                if i in rows.malformed:
                    cells = cells[:-5] if i in rows.short else [*cells, "EXTRA"]
                writer.writerow(cells)
            text.flush()
            text.detach()
    partial.replace(path)
    return Result(
        path=path,
        rows=spec.rows,
        malformed=len(rows.malformed),
        duplicates=len(rows.duplicate_at),
        relisted=rows.relisted,
        bytes=path.stat().st_size,
    )


SAMPLE_MEMBER = Spec(rows=300, seed=2026, crlf=True, bom=True, malformed=2, duplicates=1,
                     showcase=True)  # fmt: skip
SAMPLE_CAMEL = Spec(rows=50, seed=2026, dialect="camel", malformed=0, duplicates=0)


def write_samples(directory: Path) -> list[Result]:
    return [
        generate(SAMPLE_MEMBER, directory / "copart-sample.csv"),
        generate(SAMPLE_CAMEL, directory / "copart-sample-camel.csv"),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--seed", "--base-seed", dest="seed", type=int, default=7)
    p.add_argument("--file-index", type=int, default=0)
    p.add_argument("--dialect", choices=("member", "camel"), default="member")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--crlf", action="store_true")
    p.add_argument("--bom", action="store_true")
    p.add_argument("--malformed", type=int, default=None)
    p.add_argument("--duplicates", type=int, default=None)
    p.add_argument("--relist-share", type=float, default=0.2)
    p.add_argument("--samples", type=Path, default=None, help="write the bundled samples here")
    a = p.parse_args(argv)
    if a.samples is not None:
        results = write_samples(a.samples)
    else:
        if a.rows < 0:
            p.error("--rows must be >= 0")
        spec = Spec(
            rows=a.rows, seed=a.seed, file_index=a.file_index, dialect=a.dialect, crlf=a.crlf,
            bom=a.bom, malformed=a.malformed, duplicates=a.duplicates,
            relist_share=a.relist_share,
        )  # fmt: skip
        results = [generate(spec, a.out)]
    for r in results:
        print(
            f"{r.path}: {r.rows} rows ({r.malformed} malformed, {r.duplicates} duplicate, "
            f"{r.relisted} re-listed), {r.bytes} bytes"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
