"""What must hold after a soak, checked against a clean run of the same topic.

Content: every table as ``dump`` sees it (wall-clock and generated-id columns aside) equal
to the clean run's; counts of raw rows, parse errors and VIN conflicts equal; no raw row
(file, row number) or Kafka record stored twice; the group's stored offsets at the end of
every partition; every ETL run completed; the lot history equal to the clean run's, and the
change stream delivered at least once and once per id (``check_changes``). Returns the
violations, empty when all hold.
"""

from __future__ import annotations

from typing import Any

import orjson

from tests.e2e.harness import TABLES, count, dump, fetch
from tests.kafka import end_offsets, read_topic

COUNTS = {
    "raw rows": "SELECT count(*) FROM raw.file_rows",
    "parse errors": "SELECT count(*) FROM audit.parse_errors",
    "vin conflicts": "SELECT count(*) FROM audit.vin_conflicts",
}
TWICE = {
    "raw row stored twice": "SELECT count(*) FROM (SELECT 1 FROM raw.file_rows "
    "GROUP BY file_id, row_no HAVING count(*) > 1) d",
    "kafka record stored twice": "SELECT count(*) FROM (SELECT 1 FROM raw.file_rows "
    "WHERE kafka_offset IS NOT NULL "
    "GROUP BY kafka_partition, kafka_offset HAVING count(*) > 1) d",
}


async def db_offsets(dsn: str, group: str) -> dict[tuple[str, int], int]:
    rows = await fetch(
        dsn,
        "SELECT topic, partition, next_offset FROM ingest.consumer_offsets WHERE group_id = $1",
        group,
    )
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def lag(dsn: str, group: str, bootstrap: str, *topics: str) -> int:
    """Records of ``topics`` not yet committed by ``group`` in the database."""
    stored = await db_offsets(dsn, group)
    ends = await end_offsets(bootstrap, *topics)
    return sum(end - stored.get(tp, 0) for tp, end in ends.items())


async def check(
    soak_dsn: str, clean_dsn: str, *, group: str, bootstrap: str, topics: tuple[str, str]
) -> list[str]:
    soak, clean = await dump(soak_dsn), await dump(clean_dsn)
    problems = [
        f"{table}: differs from the clean run: {_diff(soak, clean, table)}"
        for table in TABLES
        if soak[table] != clean[table]
    ]
    for what, sql in COUNTS.items():
        got, want = await count(soak_dsn, sql), await count(clean_dsn, sql)
        if got != want:
            problems.append(f"{what}: {got}, clean run {want}")
    for what, sql in TWICE.items():
        if n := await count(soak_dsn, sql):
            problems.append(f"{what}: {n}")
    stored = await db_offsets(soak_dsn, group)
    for tp, end in sorted((await end_offsets(bootstrap, *topics)).items()):
        if stored.get(tp, 0) != end:
            problems.append(f"stored offset of {tp[0]}:{tp[1]} is {stored.get(tp)}, end {end}")
    unfinished = await fetch(
        soak_dsn, "SELECT file_id::text, status FROM audit.etl_runs WHERE status <> 'completed'"
    )
    problems += [f"etl run of file {r['file_id']} is {r['status']}" for r in unfinished]
    if not await count(soak_dsn, "SELECT count(*) FROM audit.etl_runs"):
        problems.append("no etl run at all")
    return problems


def _diff(a: dict[str, list[tuple[Any, ...]]], b: dict[str, list[tuple[Any, ...]]], t: str) -> str:
    only_a, only_b = set(a[t]) - set(b[t]), set(b[t]) - set(a[t])
    out = f"{len(a[t])} rows against {len(b[t])}, {len(only_a)} only after the soak"
    # Rows with the same first column (their key in most tables): which columns differ.
    by_key = {row[0]: row for row in only_b}
    for row in sorted(only_a, key=repr)[:3]:
        if (other := by_key.get(row[0])) is not None:
            cols = [
                f"#{i}: {x!r:.80} vs {y!r:.80}"
                for i, (x, y) in enumerate(zip(row, other, strict=True))
                if x != y
            ]
            out += f"; key {row[0]!r:.60}: {', '.join(cols)}"
    return out


async def check_changes(soak_dsn: str, *, bootstrap: str, topic: str) -> list[str]:
    """The change stream after faults (relays killed between send and position among them):
    the outbox relayed to its end and pruned; every event the relay's committed rounds
    counted is on the topic (at least once), a repeat carries the same event; a reader that
    drops a repeated id sees exactly one `created` per lot."""
    problems = []
    if left := await count(soak_dsn, "SELECT count(*) FROM ingest.lot_changes"):
        problems.append(f"change outbox: {left} event(s) never relayed")
    relayed = await count(
        soak_dsn, f"SELECT coalesce(sum(relayed), 0) FROM ingest.relay_positions "
        f"WHERE topic = '{topic}'"
    )  # fmt: skip
    by_id: dict[str, bytes] = {}
    repeats = 0
    for record in await read_topic(bootstrap, topic, wait_s=120):
        event = orjson.loads(record.value)
        if event["id"] in by_id:
            repeats += 1
            if by_id[event["id"]] != record.value:
                problems.append(f"event {event['id']} sent twice with different contents")
        by_id[event["id"]] = record.value
    if len(by_id) != relayed:
        problems.append(f"change topic: {len(by_id)} distinct events, relay counted {relayed}")
    events = [orjson.loads(v) for v in by_id.values()]
    created = [e["lot"] for e in events if e["kind"] == "created"]
    lots = {r["lot_external_id"] for r in await fetch(soak_dsn, "SELECT lot_external_id "
                                                                "FROM public.lots")}  # fmt: skip
    if sorted(created) != sorted(lots):
        problems.append(f"created events: {len(created)} for {len(lots)} lots")
    print(f"change stream: {len(by_id)} events, {repeats} repeated (relays killed mid-round)")
    return problems
