"""A repeated full snapshot end to end: only what changed is processed and stored again."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from feed.contract import header_digest
from producer.feedfile import inspect_file
from producer.messages import MessageBuilder, is_blank
from producer.reader import CsvReader
from tests.e2e.harness import Harness, count, fetch

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "copart-sample.csv"
UPDATED = "Last Updated Time"
BID = "High Bid =non-vix,Sealed=Vix"


def changed_copy(source: Path, target: Path, every: int) -> set[str]:
    """``source`` byte for byte, but every ``every``-th single-line row gets a newer time and
    another bid (as the next download of the feed would)."""
    lines = source.read_bytes().splitlines(keepends=True)
    header = next(csv.reader([lines[0].decode("utf-8-sig")]))
    lot_at, updated_at, bid_at = (header.index(n) for n in ("Lot number", UPDATED, BID))
    changed: set[str] = set()
    for i in range(1, len(lines), every):
        try:
            text = lines[i].decode("utf-8")
        except UnicodeDecodeError:
            continue
        body = text.rstrip("\r\n")
        cells = next(csv.reader([body]), [])
        if len(cells) != len(header) or not cells[lot_at].strip():
            continue  # part of a multi-line record, or malformed: left as it is
        cells[updated_at] = "2031-01-01T00:00:00Z"
        cells[bid_at] = f"{1000 + i}.0"
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="").writerow(cells)
        lines[i] = (out.getvalue() + text[len(body) :]).encode("utf-8")
        changed.add(cells[lot_at].strip())
    target.write_bytes(b"".join(lines))
    return changed


def digests(path: Path) -> list[bytes]:
    """The content digest of every message the producer sends for ``path``."""
    feed = inspect_file(path)
    build = MessageBuilder(feed.layout, feed.file_id, feed.sha256).build
    with path.open("rb") as stream:
        return [
            digest
            for r in CsvReader(stream).records()
            if not is_blank(r) and (digest := header_digest(build(r).headers)) is not None
        ]


async def lots(dsn: str) -> dict[str, tuple[datetime, object]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT lot_external_id, updated_at, high_bid FROM public.lots")
    finally:
        await conn.close()
    return {r[0]: (r[1], r[2]) for r in rows}


async def test_second_snapshot_writes_only_its_changes(harness: Harness, tmp_path: Path) -> None:
    first, second = SAMPLE, tmp_path / "snapshot-2.csv"
    changed = changed_copy(first, second, every=10)
    one, two = digests(first), digests(second)
    assert changed
    assert len(set(two) - set(one)) == len(changed)  # exactly the changed rows are new

    harness.publish([first])
    harness.consume()
    before = await lots(harness.admin_dsn)
    contents_before = await count(harness.admin_dsn, "SELECT count(*) FROM raw.contents")
    assert contents_before == len(set(one))
    applied = {
        bytes(r[0])
        for r in await fetch(
            harness.admin_dsn, "SELECT digest FROM raw.contents WHERE kind = 'row'"
        )
    }

    harness.publish([second])
    totals = harness.consume()
    after = await lots(harness.admin_dsn)
    dsn = harness.admin_dsn

    # Changed lots updated, every other lot untouched (not even its updated_at).
    assert set(after) == set(before)
    for lot, (updated_at, bid) in after.items():
        if lot in changed:
            assert updated_at > before[lot][0], lot
            assert bid != before[lot][1], lot
        else:
            assert (updated_at, bid) == before[lot], lot
    # Only the changed rows were processed: the rest were referenced.
    assert totals["unchanged_content"] == sum(d in applied for d in two)
    assert totals["inserted"] == 0
    assert totals["updated"] == len(changed)

    # A reference for every physical row; contents only for new contents.
    assert await count(dsn, "SELECT count(*) FROM raw.file_rows") == len(one) + len(two)
    assert await count(dsn, "SELECT count(*) FROM raw.contents") == len(set(one) | set(two))
    views = {r["path"]: r for r in await fetch(dsn, "SELECT * FROM audit.v_ingest_count")}
    assert views[str(first)]["rows_ingested"] == len(one)
    assert views[str(second)]["rows_ingested"] == len(two)
    assert views[str(first)]["rows_malformed"] == views[str(second)]["rows_malformed"]
    assert views[str(first)]["parse_errors"] == views[str(second)]["parse_errors"] > 0
    assert {v["run_status"] for v in views.values()} == {"completed"}
    rates = await fetch(
        dsn,
        "SELECT f.path, sum(u.fields_unknown) AS unknown, sum(u.rows) AS rows"
        " FROM audit.v_unknown_rate u JOIN raw.csv_files f USING (file_id) GROUP BY f.path",
    )
    by_path = {r["path"]: (r["rows"], r["unknown"]) for r in rates}
    assert by_path[str(first)][0] == by_path[str(second)][0]  # every good row counted
