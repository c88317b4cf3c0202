"""The change stream end to end: every event the relay sends validates against the contract
(schemas/lot-change.schema.json) and each kind comes where it must (created for a new lot,
changed with old and new values, removed and returned only around full snapshots); a relay
SIGKILLed between Kafka's acknowledgement and the position write sends those events again,
and a reader that drops a repeated id gets every event exactly once."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import io
import json
import signal
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from tests.e2e.harness import ROOT, Harness, fetch
from tests.e2e.test_removed_lots import later_partial
from tests.feedshape import MEMBER, downloads
from tests.kafka import read_topic

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SCHEMA = json.loads((ROOT / "schemas" / "lot-change.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


async def events(harness: Harness) -> list[dict[str, Any]]:
    """Every event on the change topic, checked against the contract and its Kafka record."""
    out = []
    for record in await read_topic(harness.bootstrap, harness.changes_topic):
        event = orjson.loads(record.value)
        VALIDATOR.validate(event)
        assert record.key.decode() == event["lot"]
        assert dict(record.headers)["vinops-event-id"].decode() == event["id"]
        out.append(event)
    return out


async def lots_of(harness: Harness) -> set[str]:
    rows = await fetch(harness.admin_dsn, "SELECT lot_external_id FROM public.lots")
    return {r["lot_external_id"] for r in rows}


def kinds(seen: list[dict[str, Any]]) -> collections.Counter[str]:
    return collections.Counter(e["kind"] for e in seen)


async def test_every_kind_validates_and_comes_where_it_must(
    harness: Harness, tmp_path: Path
) -> None:
    first, second = downloads(MEMBER, tmp_path, seed=25)
    harness.publish([first.path], full_snapshot=True)
    harness.consume()
    lots = await lots_of(harness)
    seen = await events(harness)
    assert kinds(seen) == {"created": len(lots)}
    assert {e["lot"] for e in seen} == lots

    harness.publish([second.path], full_snapshot=True)
    harness.consume()
    seen = await events(harness)
    assert kinds(seen) == {"created": len(lots) + len(second.listed),
                           "changed": len(second.changed), "removed": len(second.sold)}  # fmt: skip
    changed = [e for e in seen if e["kind"] == "changed"]
    assert {e["lot"] for e in changed} == second.changed
    for event in changed:  # the feed's bid moved to 1234.0 and its update time to 2031
        assert event["changes"]["high_bid"]["new"] == 1234.0
        assert event["changes"]["high_bid"]["old"] != 1234.0
        assert event["source_updated_at"].startswith("2031-01-01T00:00:00")
        assert event["previous"]["source_updated_at"] < event["source_updated_at"]
    assert {e["lot"] for e in seen if e["kind"] == "removed"} == second.sold

    # A partial file removes nothing; one that lists a removed lot brings it back.
    back = min(second.sold)
    partial = tmp_path / "3-partial.csv"
    later_partial(first.path, partial, {back}, newer_lot=min(second.changed))
    harness.publish([partial])
    harness.consume()
    seen = await events(harness)
    assert kinds(seen)["removed"] == len(second.sold)
    assert [e["lot"] for e in seen if e["kind"] == "returned"] == [back]
    assert kinds(seen)["changed"] == len(second.changed) + 1
    assert len({e["id"] for e in seen}) == len(seen)  # no event sent twice, ids unique
    assert set(kinds(seen)) == {"created", "changed", "removed", "returned"}

    # The history: a removed lot's last version ends at the removing snapshot's as-of, the
    # returned one's is open again; the outbox is empty once relayed (pruned).
    last = {
        r["lot_external_id"]: r
        for r in await fetch(harness.admin_dsn, """
            SELECT DISTINCT ON (v.lot_external_id) v.lot_external_id, v.valid_to,
                   l.removed_as_of
            FROM public.lot_versions v JOIN public.lots l USING (lot_external_id)
            ORDER BY v.lot_external_id, v.valid_from DESC, v.version DESC""")
    }  # fmt: skip
    for lot in second.sold - {back}:
        assert last[lot]["valid_to"] == last[lot]["removed_as_of"] is not None
    assert last[back]["valid_to"] is None
    assert await fetch(harness.admin_dsn, "SELECT 1 FROM ingest.lot_changes") == []


def readme_reader() -> Callable[[str, str], Coroutine[Any, Any, None]]:
    """The ten-line reader of README.md's "History and changes", as it is written there."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = text.split("### History and changes", 1)[1].split("```python\n", 1)[1].split("```")[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README's code
    reader: Callable[[str, str], Coroutine[Any, Any, None]] = namespace["read"]
    return reader


async def run_readme_reader(harness: Harness, expected: int) -> list[str]:
    """What the README's reader prints for the change topic until ``expected`` lines (or
    30 s, then a few seconds more to catch a line too many)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        task = asyncio.create_task(readme_reader()(harness.bootstrap, harness.changes_topic))
        for _ in range(150):
            if out.getvalue().count("\n") >= expected:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return out.getvalue().splitlines()


async def _wait_for_records(harness: Harness, at_least: int, within_s: float) -> int:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        records = await read_topic(harness.bootstrap, harness.changes_topic)
        if len(records) >= at_least:
            return len(records)
        await asyncio.sleep(0.5)
    raise AssertionError(f"fewer than {at_least} events on {harness.changes_topic}")


async def test_a_relay_killed_between_send_and_position_repeats_only_what_was_not_stored(
    harness: Harness, tmp_path: Path
) -> None:
    first, _ = downloads(MEMBER, tmp_path, seed=26)
    harness.publish([first.path])
    # Rounds of 20 events; after the first round's acknowledgement the relay waits (the
    # fault knob) before it stores the position: the SIGKILL lands in that window.
    proc = harness.start(env={"VINOPS_RELAY_BATCH": "20", "VINOPS_RELAY_PAUSE_AFTER_SEND_S": "60"})
    sent = await _wait_for_records(harness, 20, within_s=90)
    position = await fetch(harness.admin_dsn, "SELECT last_seq FROM ingest.relay_positions")
    assert [r["last_seq"] for r in position] in ([], [0])  # sent, and not stored
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL

    harness.consume()  # the restart relays everything, the unstored round again
    records = await events(harness)
    lots = await lots_of(harness)
    ids = [e["id"] for e in records]
    repeated = len(ids) - len(set(ids))
    assert 0 < repeated <= sent  # at least once: the killed round came again, nothing more
    # The README's reader drops a repeated id: each lot's created event exactly once.
    printed = await run_readme_reader(harness, len(lots))
    assert sorted(line.split()[1] for line in printed) == sorted(lots)
    assert {line.split()[0] for line in printed} == {"created"}
    stored = await fetch(harness.admin_dsn, "SELECT relayed FROM ingest.relay_positions")
    assert [r["relayed"] for r in stored] == [len(lots)]
