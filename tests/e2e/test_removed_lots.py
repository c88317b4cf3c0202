"""Removed lots end to end: a lot missing from a completed full snapshot is marked removed; a
newer file that lists it again brings it back (even as an unchanged, skipped row); a partial
file removes nothing; an older full snapshot consumed after a newer one removes nothing the
newer one lists and brings back nothing the newer one removed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.e2e.harness import Harness, fetch
from tests.feedshape import MEMBER, downloads

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


async def removed(dsn: str) -> dict[str, bool]:
    rows = await fetch(dsn, "SELECT lot_external_id, is_removed, removed_at FROM public.lots")
    assert all((r["removed_at"] is not None) == r["is_removed"] for r in rows)
    return {r["lot_external_id"]: r["is_removed"] for r in rows}


def later_partial(first: Path, target: Path, lots: set[str], newer_lot: str) -> None:
    """A later partial download: the rows of ``lots`` exactly as ``first`` had them (unchanged
    contents), and one row of ``newer_lot`` updated after every snapshot so far."""
    text = first.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    lot_at, updated_at = header.index(MEMBER.lot), header.index(MEMBER.updated)
    keep = [r for r in body if r[lot_at] in lots]
    newer = next(list(r) for r in body if r[lot_at] == newer_lot)
    newer[updated_at] = "2032-01-01T00:00:00Z"
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for n, row in enumerate([*keep, newer], 1):
        row[header.index(MEMBER.counter)] = str(n)
        writer.writerow(row)
    target.write_text(out.getvalue(), encoding="utf-8")


async def test_full_snapshots_remove_and_newer_listings_return(
    harness: Harness, tmp_path: Path
) -> None:
    first, second = downloads(MEMBER, tmp_path, seed=24)
    dsn = harness.admin_dsn
    harness.publish([first.path], full_snapshot=True)
    assert harness.consume()["lots_removed"] == 0
    assert not any((await removed(dsn)).values())

    harness.publish([second.path], full_snapshot=True)
    assert harness.consume()["lots_removed"] == len(second.sold)
    state = await removed(dsn)
    assert {lot for lot, gone in state.items() if gone} == second.sold

    # The first download again, consumed late: older than the second, it removes nothing the
    # second lists (its 2 new lots) and brings back nothing the second removed.
    harness.publish([first.path], force=True, full_snapshot=True)
    totals = harness.consume()
    assert (totals["lots_removed"], totals["lots_returned"]) == (0, 0)
    assert await removed(dsn) == state

    # A later partial download lists one sold lot again, unchanged (its row is skipped as an
    # unchanged content): the lot returns. A partial file removes nothing.
    back = min(second.sold)
    partial = tmp_path / "3-partial.csv"
    later_partial(first.path, partial, {back}, newer_lot=min(second.changed))
    harness.publish([partial])
    totals = harness.consume()
    assert totals["unchanged_content"] >= 1
    assert (totals["lots_removed"], totals["lots_returned"]) == (0, 1)
    assert {lot for lot, gone in (await removed(dsn)).items() if gone} == second.sold - {back}
