"""Writing one batch: one transaction, about ten round trips (the statements: consumer/store/sql/).

Shape: COPY the batch's row messages into one wide temp table, then set-based
INSERT ... SELECT ... ON CONFLICT statements read from it; small per-batch lists (files,
images, parse errors, offsets) travel as array parameters (unnest). Row order in every
INSERT ... SELECT is deterministic (ORDER BY the conflict key) so two consumers writing
shared rows (vehicles, runs) lock them in the same order and cannot deadlock each other.

Every look-up of stored rows by a batch key (a lot's stored version and id, a VIN's stored
spelling) is a LATERAL subquery with OFFSET 0, which the planner cannot turn into a hash
join: one index probe per batch row. A join would seq-scan the whole table once per batch
(the temp table has no statistics), a cost that grows with the table, not the batch.

Isolation is READ COMMITTED on purpose: every write is an upsert that re-checks the stored
row (ON CONFLICT ... WHERE stored version < new version), which is exactly what a second
consumer needs; REPEATABLE READ would turn each such overlap into a serialization failure.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from consumer.config.errors import (
    PG_ERRORS,
    ContentsPrunedError,
    IngestError,
    TransientError,
    translate_pg,
)
from consumer.prepare import mapped
from consumer.prepare.prepared import Known, LayoutKey, PreparedBatch, Reference
from consumer.store import statements as sql
from consumer.store.batch_table import (
    BATCH_COLUMNS,
    CREATE_BATCH_TABLE,
    REFS_COLUMNS,
    batch_records,
    refs_records,
)
from consumer.store.params import (
    BatchOutcome,
    files_params,
    runs_params,
    side_params,
)


class Sink:
    def __init__(
        self, pool: asyncpg.Pool, *, group_id: str, consumer_name: str, history: bool = True
    ) -> None:
        self._pool = pool
        # Lot versions and change events in each batch's transaction (VINOPS_HISTORY).
        self._history = history
        self._lots_sql = sql.LOTS_TOLD if history else sql.LOTS
        self._file_completed_sql = sql.FILE_COMPLETED_TOLD if history else sql.FILE_COMPLETED
        self._group_id = group_id
        self._consumer = consumer_name
        # Layout rows are never deleted: once resolved, an id holds for the process's life.
        self._layout_ids: dict[LayoutKey, int] = {}

    async def known_contents(self, digests: Sequence[bytes]) -> Known:
        """Which of ``digests`` are stored: their field counts and whether cells were cut from
        them when applied, else None."""
        if not digests:
            return {}
        try:
            async with self._pool.acquire() as conn:
                found = await conn.fetchrow(
                    sql.KNOWN_CONTENTS, list(set(digests)), mapped.MAPPING_VERSION
                )
        except PG_ERRORS as exc:
            raise translate_pg(exc) from exc
        assert found is not None  # noqa: S101 - an aggregate returns one row
        known: dict[bytes, tuple[int, int, bool] | None] = dict.fromkeys(found["refused"])
        known.update(
            zip(found["applied"], zip(found["ft"], found["fu"], found["cut"], strict=True),
                strict=True)
        )  # fmt: skip
        return known

    async def _resolve_layouts(self, conn: Any, batch: PreparedBatch) -> None:
        for layout in {r.layout for r in batch.rows if r.layout is not None}:
            if layout in self._layout_ids:
                continue
            layout_id = None
            for _ in range(3):  # None: a concurrent first insert not yet visible; ask again
                layout_id = await conn.fetchval(sql.LAYOUT, list(layout[0]), list(layout[1]))
                if layout_id is not None:
                    break
            if layout_id is None:
                raise TransientError("layout row not visible yet")
            self._layout_ids[layout] = int(layout_id)

    async def ping(self) -> None:
        try:
            async with self._pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except PG_ERRORS as exc:
            raise translate_pg(exc) from exc

    async def committed_offsets(self, topic: str, partitions: Iterable[int]) -> dict[int, int]:
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(
                    sql.COMMITTED_OFFSETS, self._group_id, topic, list(partitions)
                )
        except PG_ERRORS as exc:
            raise translate_pg(exc) from exc
        return {int(r["partition"]): int(r["next_offset"]) for r in rows}

    async def write(self, batch: PreparedBatch) -> BatchOutcome:
        try:
            async with self._pool.acquire() as conn:
                await self._resolve_layouts(conn, batch)
                async with conn.transaction():
                    return await self._write(conn, batch)
        except IngestError:
            raise
        except PG_ERRORS as exc:
            raise translate_pg(exc) from exc

    async def _write(self, conn: Any, batch: PreparedBatch) -> BatchOutcome:
        rows = dict.fromkeys(("inserted", "updated", "unchanged", "stale"), 0)
        rows["stale"] += batch.deduped_stale
        conflicts: collections.Counter[str] = collections.Counter()
        per_file_rows: collections.Counter[uuid.UUID] = collections.Counter()
        per_file_errors: collections.Counter[uuid.UUID] = collections.Counter()
        raw_inserted = 0
        moved: list[str] = []
        changes: collections.Counter[str] = collections.Counter()

        # 1. Files first: raw.file_rows and the runs reference them.
        if any(not f.has_event for f in batch.files):
            await conn.execute(sql.FILES_CREATE, *files_params(batch, events=False))
        if any(f.has_event for f in batch.files):
            await conn.execute(sql.FILES_FILL, *files_params(batch, events=True))

        if batch.references or batch.rows or batch.rejections:
            await conn.execute(CREATE_BATCH_TABLE)  # step 6 reads it even when empty
        if batch.references or batch.rows:
            # 2. COPY the new contents and the mapped rows into the session's temp table.
            new = batch_records(batch, self._layout_ids)
            if new:
                await conn.copy_records_to_table("vinops_batch", records=new, columns=BATCH_COLUMNS)
            flips = [r for r in batch.rows if r.mapped is not None and r.body is None]
            if flips:
                m = [r.mapped for r in flips if r.mapped is not None]
                await conn.execute(
                    sql.FLIP_APPLIED, [r.digest for r in flips], [x.fields_total for x in m],
                    [x.fields_unknown for x in m], [x.source_updated_at for x in m],
                    mapped.MAPPING_VERSION,
                )  # fmt: skip
            # 3. raw.contents + staging.copart_raw, then a reference of every row message.
            if new:
                await conn.execute(sql.CONTENTS_AND_STAGING, mapped.MAPPING_VERSION)
            for file_id, n, bad in await self._write_references(conn, refs_records(batch)):
                per_file_rows[file_id] += n
                per_file_errors[file_id] += bad
                raw_inserted += n
            moved = await self._core(conn, batch, rows, conflicts, changes)

        # 6. Sale events, images, row-level VIN conflicts, parse errors.
        parse_errors: collections.Counter[str] = collections.Counter()
        if batch.rows or batch.rejections:  # bare references change none of these tables
            side = await conn.fetchrow(sql.SIDE_TABLES, *side_params(batch, moved, self._consumer))
            conflicts.update(side["conflicts"] or [])
            by_key = {p.dedup_key: p for p in batch.rejections}
            for key in side["parse_errors"] or []:
                record = by_key[key]
                parse_errors[record.reason] += 1
                if record.counts_as_row and record.file_id is not None:
                    per_file_rows[record.file_id] += 1
                    per_file_errors[record.file_id] += 1

        # 7. Runs and offsets last: the run row is shared by every consumer of a file, so
        #    its lock is taken as late as possible and held only until COMMIT.
        transitions = await conn.fetch(
            sql.RUNS_AND_OFFSETS,
            *runs_params(batch, per_file_rows, per_file_errors),
            *self._offsets_params(batch),
        )
        runs = collections.Counter(str(t["status"]) for t in transitions)
        # 8. A completed file: its as-of; lots it lists return; a full snapshot removes.
        lots_removed = collections.Counter[str]()
        for file_id in sorted(t["run_id"] for t in transitions if t["status"] == "completed"):
            changed = await conn.fetchrow(self._file_completed_sql, file_id)
            lots_removed.update(removed=changed["removed"], returned=changed["returned"])
            changes.update(removed=changed["removed_events"], returned=changed["returned_events"])
        return BatchOutcome(
            rows=rows,
            parse_errors=dict(parse_errors),
            conflicts={k: n for k, n in conflicts.items() if n},
            fields_total=batch.fields_total,
            fields_unknown=batch.fields_unknown,
            runs=dict(runs),
            raw_rows_inserted=raw_inserted,
            newest_timestamp_ms=batch.newest_timestamp_ms,
            lots_removed={k: n for k, n in lots_removed.items() if n},
            changes={k: n for k, n in changes.items() if n},
        )

    async def _core(
        self, conn: Any, batch: PreparedBatch, rows: dict[str, int],
        conflicts: collections.Counter[str], changes: collections.Counter[str],
    ) -> list[str]:  # fmt: skip
        """Steps 4 and 5, from the batch table: the core upserts and their outcome counts
        (with history on, the lots' change events and the batch's versions too).
        Returns the lots whose VIN moved (their images follow it)."""
        # 4. Vehicles before lots (FK), newest version per VIN.
        if batch.winners.vehicles:
            await conn.execute(sql.VEHICLES)
        # 5. Lots: LWW upsert, lot_vin_changed, and the outcome counts.
        if batch.winners.lots:
            r = await conn.fetchrow(self._lots_sql)
            rows["inserted"] += r["inserted"]
            rows["updated"] += r["updated"]
            rows["unchanged"] += r["unchanged"]
            rows["stale"] += len(batch.winners.lots) - r["inserted"] - r["updated"]
            rows["stale"] -= r["unchanged"]
            conflicts["lot_vin_changed"] += r["vin_changed"]
            changes.update(created=r["created_events"], changed=r["changed_events"])
            if self._history:
                # Every mapped row's version, the winners' and the older ones alike.
                await conn.fetchrow(sql.LOT_VERSIONS)
            return list(r["vin_moved"])
        return []

    async def rederive(self, batch: PreparedBatch) -> dict[str, int]:
        """The core tables only, from rows the raw layer already holds (``consumer rebuild``):
        the same upserts and rule as ``write``, nothing raw, no run, no offset. Each row of
        ``batch`` must be stored (``body`` None): the raw layer is not written."""
        rows = dict.fromkeys(("inserted", "updated", "unchanged", "stale"), 0)
        conflicts: collections.Counter[str] = collections.Counter()
        changes: collections.Counter[str] = collections.Counter()
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(CREATE_BATCH_TABLE)
                records = batch_records(batch, {})
                if records:
                    await conn.copy_records_to_table(
                        "vinops_batch", records=records, columns=BATCH_COLUMNS
                    )
                moved = await self._core(conn, batch, rows, conflicts, changes)
                if batch.rows:
                    await conn.fetchrow(sql.SIDE_TABLES, *side_params(batch, moved, self._consumer))
                applied = [r.digest for r in batch.rows if r.mapped is not None]
                await conn.execute(sql.MARK_APPLIED, applied, mapped.MAPPING_VERSION)
        except PG_ERRORS as exc:
            raise translate_pg(exc) from exc
        return rows

    @staticmethod
    async def _write_references(
        conn: Any, refs: Sequence[Reference]
    ) -> list[tuple[uuid.UUID, int, int]]:
        """Record ``refs`` as reference blocks: (file_id, rows recorded, malformed among them).

        One statement from the session's temp table: rows already recorded (a file published
        again) keep their first record (consumer/store/sql/references_write.sql).
        """
        if not refs:
            return []
        await conn.copy_records_to_table("vinops_refs", records=refs, columns=REFS_COLUMNS)
        counted = await conn.fetch(sql.REFERENCES_WRITE)
        if counted and counted[0]["missing"]:
            # The transaction rolls back; the checkpoint prepares the batch again.
            raise ContentsPrunedError(f"{counted[0]['missing']} content(s) pruned since looked up")
        return [(r["file_id"], r["n"], r["bad"]) for r in counted]

    def _offsets_params(self, batch: PreparedBatch) -> list[Any]:
        return [self._group_id, *batch.offsets.db_columns()]
