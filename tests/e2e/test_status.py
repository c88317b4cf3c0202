"""`consumer status` for people and for scripts, on a real ingest: per partition lag in
messages and seconds and the last commit, dead letters, the last hour's rows, storage; the
table printed once, redrawn by --watch, and the same facts as JSON."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from typing import Any

import orjson
import pytest

from tests.e2e.fixtures import Feed
from tests.e2e.harness import ROOT, Harness, count
from tests.kafka import end_offsets, read_topic

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def status_env(h: Harness) -> dict[str, str]:
    return h.env() | {
        "VINOPS_TOPIC": h.topic, "VINOPS_FILES_TOPIC": h.files_topic,
        "VINOPS_DLQ_TOPIC": h.dlq_topic, "VINOPS_GROUP_ID": h.group,
    }  # fmt: skip


def status(h: Harness, *args: str, columns: int = 300) -> subprocess.CompletedProcess[str]:
    # COLUMNS: rich draws to this width when stdout is not a terminal; the test's topic
    # names are long.
    return subprocess.run(
        [sys.executable, "-m", "consumer", "status", *args],
        cwd=ROOT, env=status_env(h) | {"COLUMNS": str(columns)}, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_status_reports_lag_commits_dead_letters_outcomes_and_storage(
    harness: Harness, feed: Feed
) -> None:
    h = harness
    h.publish([feed.files["A"], feed.files["B"]])
    h.consume()
    consumed_rows = len(feed.of(("A", "B")))
    h.publish([feed.files["D"]])  # published, not consumed: lag
    ends = await end_offsets(h.bootstrap, h.topic, h.files_topic)

    done = status(h, "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = orjson.loads(done.stdout)
    assert report["group_id"] == h.group
    by_tp = {(p["topic"], p["partition"]): p for p in report["partitions"]}
    assert set(by_tp) == set(ends)
    for tp, end in ends.items():
        assert by_tp[tp]["end"] == end
        assert by_tp[tp]["lag_messages"] == end - (by_tp[tp]["committed"] or 0)
    lagging = [p for p in report["partitions"] if p["lag_messages"] > 0]
    # D's rows and its two files-topic records are behind; nothing else is.
    assert sum(p["lag_messages"] for p in lagging) == len(feed.of(("D",))) + 2
    assert all(p["lag_seconds"] is not None and 0 <= p["lag_seconds"] < 300 for p in lagging)
    assert all(p["lag_seconds"] == 0 for p in report["partitions"] if p["lag_messages"] == 0)
    committed = [p for p in report["partitions"] if p["committed"] is not None]
    assert committed
    assert all(p["last_commit"] for p in committed)

    last_hour = report["last_hour"]
    assert last_hour["rows_committed"] == consumed_rows
    assert last_hour["lots_inserted"] == await count(
        h.admin_dsn, "SELECT count(*) FROM public.lots"
    )
    errors = await count(h.admin_dsn, "SELECT count(*) FROM audit.parse_errors")
    assert errors > 0
    assert last_hour["parse_errors"] == errors
    letters = report["dead_letters"]
    assert letters["in_topic"] == len(await read_topic(h.bootstrap, h.dlq_topic))
    assert sum(r["total"] for r in letters["parse_errors"].values()) == errors
    assert letters["replays"] == {}
    storage = report["storage_bytes"]
    assert storage["raw"] > 0
    assert storage["database"] >= sum(v for k, v in storage.items() if k != "database")
    assert sorted(f["rows_committed"] for f in report["files"]) == sorted(
        [len(feed.of(("A",))), len(feed.of(("B",)))]
    )

    table = status(h)
    assert table.returncode == 0, table.stderr
    text = table.stdout
    assert f"Partitions (group {h.group})" in text
    assert f"│ rows committed    │ {consumed_rows:>4} │" in text
    assert f"Dead letters: {letters['in_topic']} in the topic" in text
    assert "replayed: none" in text
    assert text.count(h.topic) == len([tp for tp in ends if tp[0] == h.topic])


async def test_watch_redraws_until_stopped(harness: Harness, feed: Feed) -> None:
    h = harness
    h.publish([feed.files["A"]])
    h.consume()
    done = status(h, "--watch", "--interval", "0.2", "--iterations", "3")
    assert done.returncode == 0, done.stderr
    assert "vinops ingest status at" in done.stdout
    assert "rows committed" in done.stdout

    # Stopped by a signal between two draws: exit 0, promptly.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "consumer", "status", "--watch", "--interval", "60",
        cwd=ROOT, env=status_env(h), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await asyncio.sleep(4)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert time.monotonic() - started < 10
    assert "Partitions" in out.decode()
