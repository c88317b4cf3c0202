"""The real feed's shape end to end: the next download of a full snapshot renumbers the member
feed's row counter (`Id`) or advances a re-export's `_lastSeenAt` on every row, lots are sold
(rows gone) and listed (rows inserted). Only the changed and new lots are written; every other
row is an unchanged content, referenced; both downloads export back cell for cell."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.databases import Server
from tests.e2e.harness import ROOT, Harness, count, dump, fetch
from tests.feedshape import CAMEL, MEMBER, Dialect, downloads
from tests.rawfiles import assert_same_cells

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


async def _lots(dsn: str) -> dict[str, tuple[datetime, object]]:
    rows = await fetch(dsn, "SELECT lot_external_id, updated_at, high_bid FROM public.lots")
    return {r[0]: (r[1], r[2]) for r in rows}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _export(harness: Harness, path: Path) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "consumer", "export-raw", sha256_of(path)],
        cwd=ROOT, env=harness.env(), capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, b""), path.name
    return done.stdout


@pytest.mark.parametrize("dialect", [MEMBER, CAMEL], ids=["member-Id", "camel-_lastSeenAt"])
async def test_a_renumbered_download_writes_only_its_changed_and_new_lots(
    harness: Harness, tmp_path: Path, dialect: Dialect
) -> None:
    first, second = downloads(dialect, tmp_path, seed=29)
    dsn = harness.admin_dsn
    harness.publish([first.path])
    assert harness.consume()["inserted"] > 0
    before = await _lots(dsn)
    contents = await count(dsn, "SELECT count(*) FROM raw.contents")

    harness.publish([second.path])
    totals = harness.consume()
    after = await _lots(dsn)

    unchanged_rows = second.rows - len(second.changed) - len(second.listed)
    assert totals["unchanged_content"] == unchanged_rows
    assert (totals["inserted"], totals["updated"]) == (len(second.listed), len(second.changed))
    assert set(after) == set(before) | second.listed
    for lot, (updated_at, bid) in before.items():
        if lot in second.changed:
            assert (updated_at, bid) != after[lot], lot
        else:  # sold lots are not removed by a partial file; the rest are untouched
            assert (updated_at, bid) == after[lot], lot
    # One new content per changed or listed row; the renumbered rest is stored once.
    added = await count(dsn, "SELECT count(*) FROM raw.contents") - contents
    assert added == len(second.changed) + len(second.listed)
    # The counter is kept per physical row: nothing for a member row numbered as it stands.
    kept = await count(dsn, "SELECT count(*) FROM raw.file_rows WHERE observed IS NOT NULL")
    assert kept == (0 if dialect is MEMBER else first.rows + second.rows)

    for download in (first, second):
        exported = await asyncio.to_thread(_export, harness, download.path)
        assert_same_cells(download.path.read_bytes(), exported, set())
    # raw.v_rows gives each row its own counter back.
    cells = await fetch(
        dsn,
        "SELECT r.row_no, r.payload ->> $1 AS cell FROM raw.v_rows r "
        "JOIN raw.csv_files f USING (file_id) WHERE f.path = $2 ORDER BY r.row_no",
        dialect.counter, str(second.path),
    )  # fmt: skip
    if dialect is MEMBER:
        assert [c["cell"] for c in cells] == [str(c["row_no"]) for c in cells]
    else:
        assert {c["cell"] for c in cells} == {"2026-07-11 06:02:51.117"}


async def test_skipping_applied_contents_changes_nothing_but_the_work(
    harness: Harness, tmp_path: Path, pg_server: Server
) -> None:
    # The same two downloads, consumed one after the other with skipping (the service's
    # default), and by a reference consumer that decodes, maps and upserts every row.
    first, second = downloads(CAMEL, tmp_path, seed=11)
    harness.publish([first.path])
    harness.consume()
    harness.publish([second.path])
    skipping = harness.consume()
    async with pg_server.fresh() as other:
        reference = dataclasses.replace(
            harness, etl_dsn=other.etl_dsn, admin_dsn=other.admin_dsn, group=f"{harness.group}-r"
        )
        full = reference.consume(extra=["--no-skip-known", "--batch-size", "10"])
        assert skipping["unchanged_content"] >= second.rows - len(second.changed) - len(
            second.listed
        )
        assert full["unchanged_content"] < skipping["unchanged_content"]
        # Everything but what is written per processed row (a skipped row writes no staging
        # row and no row-level VIN conflict, by design): the core, the raw layer, the runs.
        per_row = {"staging.copart_raw", "audit.vin_conflicts"}
        ours, theirs = await dump(harness.admin_dsn), await dump(other.admin_dsn)
        assert {t: v for t, v in theirs.items() if t not in per_row} == {
            t: v for t, v in ours.items() if t not in per_row
        }
