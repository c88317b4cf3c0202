"""Snapshot k+1 = snapshot k with 5% of its lots changed, every other record byte-identical."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.generate import Spec, generate
from bench.snapshots import (
    LISTED,
    NEXT_DOWNLOAD,
    SHARE,
    SOLD,
    _cells,
    records,
    snapshot,
    write_next,
    write_realistic,
)

CHANGED = {"Last Updated Time", "High Bid =non-vix,Sealed=Vix", "Sale Date M/D/CY",
           "Day of Week", "Sale Status"}  # fmt: skip


def _records(path: Path) -> list[bytes]:
    with path.open("rb") as f:
        return list(records(f))


def test_records_keep_a_quoted_field_across_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b'a,b\n1,"x\ny"\n2,"z"\n')
    assert _records(path) == [b"a,b\n", b'1,"x\ny"\n', b'2,"z"\n']


def test_snapshot_changes_five_percent_of_lots_and_nothing_else(tmp_path: Path) -> None:
    base = generate(Spec(rows=2000, seed=3), tmp_path / "base.csv").path
    two = snapshot(base, 2, seed=3)
    before, after = _records(base), _records(two.path)
    assert len(before) == len(after)
    assert before[0] == after[0]
    header = _cells(before[0])[0]
    lots = {_cells(r)[0][header.index("Lot number")] for r in before[1:]
            if len(_cells(r)[0]) == len(header)}  # fmt: skip
    assert two.changed_lots == round(len(lots) * SHARE)
    differing = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(differing) == two.changed_rows >= two.changed_lots
    for a, b in differing:
        old = dict(zip(header, _cells(a)[0], strict=True))
        new = dict(zip(header, _cells(b)[0], strict=True))
        assert {h for h in header if old[h] != new[h]} == CHANGED
        assert new["Last Updated Time"] > old["Last Updated Time"]


def test_snapshots_are_deterministic_and_chain(tmp_path: Path) -> None:
    base = generate(Spec(rows=500, seed=3), tmp_path / "base.csv").path
    three = snapshot(base, 3, seed=3)
    again = write_next(snapshot(base, 2, seed=3).path, tmp_path / "again.csv", 3, seed=3)
    assert three.path.read_bytes() == again.path.read_bytes()
    assert three.path.read_bytes() != snapshot(base, 2, seed=3).path.read_bytes()
    assert snapshot(base, 3, seed=3) == three  # cached, counts included


def _rows(path: Path, lot: str) -> dict[str, list[dict[str, str]]]:
    recs = _records(path)
    header = _cells(recs[0].removeprefix(b"\xef\xbb\xbf"))[0]
    by_lot: dict[str, list[dict[str, str]]] = {}
    for r in recs[1:]:
        cells = _cells(r)[0]
        if len(cells) == len(header):
            by_lot.setdefault(cells[header.index(lot)], []).append(
                dict(zip(header, cells, strict=True))
            )
    return by_lot


@pytest.mark.parametrize(
    ("dialect", "lot", "cell"), [("member", "Lot number", "Id"), ("camel", "lotId", "_lastSeenAt")]
)
def test_the_realistic_next_download_sells_lists_changes_and_rewrites_the_counter(
    tmp_path: Path, dialect: str, lot: str, cell: str
) -> None:
    base = generate(Spec(rows=3000, seed=5, dialect=dialect), tmp_path / f"{dialect}.csv").path
    real = write_realistic(base, tmp_path / f"{dialect}-real.csv", dialect)
    before, after = _rows(base, lot), _rows(real.path, lot)
    assert real.sold_lots == round(len(before) * SOLD) == len(set(before) - set(after))
    assert real.listed_lots == round(len(before) * LISTED) == len(set(after) - set(before))
    assert real.rows == len(_records(real.path)) - 1
    changed = unchanged = 0
    for key in set(before) & set(after):
        old = [{h: v for h, v in r.items() if h != cell} for r in before[key]]
        new = [{h: v for h, v in r.items() if h != cell} for r in after[key]]
        changed += old != new
        unchanged += old == new
    assert changed == real.changed_lots == round(len(before) * SHARE)
    assert unchanged == len(before) - real.sold_lots - real.changed_lots
    counters = [r[cell] for rows in after.values() for r in rows]
    if dialect == "member":  # renumbered 1..N in the new order (malformed rows count too)
        assert sorted(map(int, counters)) == sorted(set(map(int, counters)))
        assert max(map(int, counters)) <= real.rows
    else:
        assert set(counters) == {NEXT_DOWNLOAD}
