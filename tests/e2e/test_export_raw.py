"""Round trip: CSV -> `producer publish` -> Kafka -> `consumer run` -> `consumer export-raw` -> CSV
that a CSV reader splits into the source's cells (malformed rows: their exact text)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from feed.contract import file_id_for
from tests.e2e.harness import ROOT, Harness, count
from tests.rawfiles import assert_same_cells, published, source_files

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def export_raw(harness: Harness, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "consumer", "export-raw", *args],
        cwd=ROOT, env=harness.env(), capture_output=True, timeout=120, check=False,
    )  # fmt: skip


async def test_every_published_file_exports_back_to_its_cells(
    harness: Harness, tmp_path: Path
) -> None:
    sources = source_files(tmp_path / "in")
    harness.publish(sources)
    harness.consume()
    stored = await count(harness.admin_dsn, "SELECT count(*) FROM raw.file_rows")
    assert stored == sum(len(published(p.read_bytes())[2]) for p in sources)
    # The repeated camel file and record were stored once and only referenced again.
    contents = await count(harness.admin_dsn, "SELECT count(*) FROM raw.contents")
    assert contents <= stored - 51
    # raw.v_rows reads every row, the NUL cell (kept as the escape \u0000) included.
    nul = "SELECT count(*) FROM raw.v_rows WHERE strpos(payload::text, '\\u0000') > 0"
    assert await count(harness.admin_dsn, nul) == 1

    for n, path in enumerate(sources):
        data = path.read_bytes()
        sha256, _, messages = published(data)
        malformed = {r.row_no for r, m in messages if m.malformed}
        if n % 2:  # to stdout, named by a sha256 prefix
            done = await asyncio.to_thread(export_raw, harness, sha256[:12])
            exported = done.stdout
        else:  # to a file, named by the file id
            out = tmp_path / f"{path.stem}.out.csv"
            done = await asyncio.to_thread(
                export_raw, harness, str(file_id_for(sha256)), "--out", str(out)
            )
            exported = out.read_bytes()
        assert (done.returncode, done.stderr) == (0, b""), path.name
        assert_same_cells(data, exported, malformed)
