"""consumer.store.sink against the real PostgreSQL, as the least-privilege consumer login."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from consumer.admin.export import StoredLayout
from consumer.config import errors
from consumer.intake.records import Inbound
from consumer.observe.metrics import Metrics
from consumer.prepare import mapped
from consumer.prepare.mapping import map_row
from consumer.prepare.prepare import prepare_records
from consumer.prepare.prepared import PreparedBatch
from consumer.prepare.rejects import reject
from consumer.store.dlq import DeadLetterSender
from consumer.store.params import BatchOutcome
from consumer.store.sink import Sink
from consumer.store.writer import BatchWriter
from feed.contract import H_DIGEST, file_id_for
from tests.databases import FreshDb
from tests.kafka import create_topics
from tests.unit.consumer.feedrows import (
    FILES_TOPIC,
    GOOD_VIN,
    ROW_TOPIC,
    aborted_msg,
    completed_msg,
    decoded,
    digest_of,
    malformed_msg,
    member_row,
    row_msg,
    sha_of,
    started_msg,
)

pytestmark = pytest.mark.integration

GROUP = "vinops-test"
TABLES = (
    "raw.csv_files", "raw.file_rows", "raw.contents", "staging.copart_raw", "public.vehicles",
    "public.lots",
    "public.sale_events", "public.images", "audit.vin_conflicts", "audit.parse_errors",
    "audit.etl_runs", "ingest.consumer_offsets",
)  # fmt: skip


@pytest_asyncio.fixture
async def pool(fresh_db: FreshDb) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(fresh_db.etl_dsn, min_size=1, max_size=2) as p:
        yield p


@pytest_asyncio.fixture
async def sink(pool: asyncpg.Pool) -> Sink:
    return Sink(pool, group_id=GROUP, consumer_name="test-consumer-1")


def outcome(**counts: int) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in ("inserted", "updated", "unchanged", "stale")}


def batch_of(messages: Sequence[Inbound]) -> PreparedBatch:
    return prepare_records(messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC)


async def write(sink: Sink, messages: Sequence[Inbound]) -> BatchOutcome:
    return await sink.write(batch_of(messages))


async def one(conn: Any, sql: str, *args: object) -> asyncpg.Record:
    record: asyncpg.Record | None = await conn.fetchrow(sql, *args)
    assert record is not None, sql
    return record


async def message_value(conn: Any, row_no: int, file: str | None = None) -> bytes:
    """The message value of a row as the raw layer gives it back (layout + value array)."""
    r = await one(
        conn,
        "SELECT c.body::text AS body, l.names, l.observed, f.observed AS cells FROM raw.file_rows f"
        " JOIN raw.v_contents c ON c.digest = f.digest"
        " LEFT JOIN raw.layouts l ON l.layout_id = c.layout_id"
        " WHERE f.row_no = $1 AND ($2::uuid IS NULL OR f.file_id = $2)",
        row_no,
        None if file is None else file_id_for(sha_of(file)),
    )
    if r["names"] is None:
        return str(r["body"]).encode()
    layout = StoredLayout(tuple(r["names"]), tuple(r["observed"]))
    values = orjson.loads(r["body"])
    if layout.observed:
        values = layout.with_cells(values, r["cells"] or [str(row_no)])
        assert values is not None
    return orjson.dumps(dict(zip(layout.names, values, strict=True)))


async def dump(pool: asyncpg.Pool) -> dict[str, list[Any]]:
    async with pool.acquire() as conn:
        return {
            t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in TABLES
        }


async def test_consumer_login_is_least_privilege(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == "vinops_etl"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.nope (x int)")


async def test_rows_land_in_every_table_with_typed_values(sink: Sink, pool: asyncpg.Pool) -> None:
    messages = [
        started_msg(offset=0),
        row_msg(member_row("26519090"), row_no=1, offset=0),
        row_msg(member_row("26519091", VIN="", **{"Sale Date M/D/CY": "0"}), row_no=2, offset=1),
        completed_msg(rows=2, offset=1),
    ]
    out = await write(sink, messages)
    assert out.rows == outcome(inserted=2)
    assert out.raw_rows_inserted == 2
    assert out.runs == {"completed": 1}
    assert out.fields_total == 96
    assert out.parse_errors == {}
    async with pool.acquire() as conn:
        lot = await one(conn, "SELECT * FROM public.lots WHERE lot_external_id = '26519090'")
        assert lot["vin"] == GOOD_VIN
        assert lot["odometer"] == 172691
        assert lot["est_retail_value"] == Decimal("20314.23")
        assert lot["repair_cost"] is None  # 0.0 means no value
        assert lot["high_bid"] == Decimal("275.00")
        assert lot["has_keys"] is True
        assert lot["keys_code"] == "YES"
        assert lot["special_note"] == "NO LICENSE PLATE"
        assert lot["sale_date"] == dt.date(2020, 7, 2)
        assert lot["auction_datetime_utc"] == dt.datetime(2020, 7, 2, 17, 0, tzinfo=dt.UTC)
        assert lot["source_created_at"] == dt.datetime(2020, 6, 30, 10, 50, 12, 197)
        assert lot["source_updated_at"] == dt.datetime(2020, 6, 6, 7, 1, tzinfo=dt.UTC)
        assert lot["make_offer_eligible"] is False
        assert lot["source_row_no"] == 1
        other = await one(conn, "SELECT * FROM public.lots WHERE lot_external_id = '26519091'")
        assert other["vin"] is None
        # A lot without a usable VIN is still described (it never reaches vehicles).
        assert (other["year"], other["make"]) == (2010, "MERCEDES-BENZ")
        assert other["sale_date"] is None
        assert other["auction_datetime_utc"] is None
        vehicle = await one(conn, "SELECT * FROM public.vehicles")
        assert (vehicle["vin"], vehicle["vin_raw"], vehicle["check_digit_ok"]) == (
            GOOD_VIN, GOOD_VIN, True
        )  # fmt: skip
        assert (vehicle["year"], vehicle["cylinders"]) == (2010, 8)
        assert (vehicle["transmission"], vehicle["fuel_type"]) == ("AUTOMATIC", "GAS")
        assert await conn.fetchval("SELECT count(*) FROM public.vehicles") == 1
        sale = await one(conn, "SELECT * FROM public.sale_events")
        assert sale["lot_id"] == lot["id"]
        assert sale["final_bid"] == Decimal("275.00")
        assert sale["status"] == "Pure Sale"
        assert sale["vin"] == GOOD_VIN
        images = await conn.fetch(
            "SELECT kind, url, storage_key FROM public.images WHERE lot_id = $1 ORDER BY kind",
            lot["id"],
        )
        assert [tuple(r) for r in images] == [
            ("lot_images",
             "http://inventory.copart.io/v1/lotImages/26519090?country=us&brand=cprt&yardNumber=1",
             "inventory.copart.io/v1/lotImages/26519090?country=us&brand=cprt&yardNumber=1"),
            ("thumbnail", "https://cs.copart.com/v1/AUTH_svc.pdoc00001/PIX243/26519090.JPG",
             "cs.copart.com/v1/AUTH_svc.pdoc00001/PIX243/26519090.JPG"),
        ]  # fmt: skip
        raw = await one(conn, "SELECT kind, kafka_offset FROM raw.file_rows WHERE row_no = 1")
        assert raw["kind"] == "row"
        assert raw["kafka_offset"] == 0
        assert await message_value(conn, 1) == messages[1].value  # rebuilt byte for byte
        staged = await one(conn, "SELECT * FROM staging.copart_raw WHERE row_no = 1")
        assert (staged["fields_total"], staged["fields_unknown"]) == (48, 3)
        assert staged["window_start_utc"] == dt.datetime(2020, 6, 6, 7, tzinfo=dt.UTC)
        f = await one(conn, "SELECT * FROM raw.csv_files")
        assert f["path"] == "/data/file-a.csv"
        assert f["rows_published"] == 2
        assert f["sha256"] == sha_of("file-a")
        assert f["dialect"] == "copart-member"
        run = await one(conn, "SELECT * FROM audit.etl_runs")
        assert (run["status"], run["rows_expected"], run["rows_processed"]) == ("completed", 2, 2)
        assert run["completed_at"] is not None
    assert await sink.committed_offsets(ROW_TOPIC, [0, 1]) == {0: 2}
    assert await sink.committed_offsets(FILES_TOPIC, [0]) == {0: 2}


async def test_lww_newer_then_older_keeps_newer_and_counts_stale(
    sink: Sink, pool: asyncpg.Pool
) -> None:
    newer = member_row("1", "2020-06-07T00:00:00Z", **{"Sale Status": "On Approval"})
    older = member_row("1", "2020-06-06T00:00:00Z", **{"Sale Status": "Pure Sale"})
    assert (await write(sink, [row_msg(newer, row_no=1, offset=0)])).rows["inserted"] == 1
    out = await write(sink, [row_msg(older, file="file-b", row_no=1, offset=1)])
    assert out.rows == outcome(stale=1)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM public.lots") == "On Approval"
        # the older version is still recorded losslessly
        assert await conn.fetchval("SELECT count(*) FROM raw.file_rows") == 2
    newest = member_row("1", "2020-06-08T00:00:00Z", **{"Sale Status": "On Minimum Bid"})
    out = await write(sink, [row_msg(newest, file="file-c", row_no=1, offset=2)])
    assert out.rows == outcome(updated=1)


def version(message: Inbound) -> bytes:
    """The version digest a row maps to (its lot's source_digest when it wins)."""
    return map_row("copart-member", orjson.loads(message.value or b"")).version


async def test_same_lot_twice_in_one_batch_newest_wins(sink: Sink, pool: asyncpg.Pool) -> None:
    newer = member_row("7", "2021-01-02T00:00:00Z", Odometer="200.0")
    older = member_row("7", "2021-01-01T00:00:00Z", Odometer="100.0")
    tie = member_row("8", "2021-01-01T00:00:00Z", Odometer="1.0")
    tie_later = member_row("8", "2021-01-01T00:00:00Z", Odometer="2.0")
    messages = [
        row_msg(newer, row_no=1, offset=0),
        row_msg(older, row_no=2, offset=1),
        row_msg(tie, row_no=3, offset=2),
        row_msg(tie_later, row_no=4, offset=3),
    ]
    out = await write(sink, messages)
    assert out.rows == outcome(inserted=2, stale=2)
    async with pool.acquire() as conn:
        got = {
            r[0]: r[1]
            for r in await conn.fetch("SELECT lot_external_id, odometer FROM public.lots")
        }
    tie_winner = max(messages[2:], key=version)
    assert got == {"7": 200, "8": 1 if tie_winner is messages[2] else 2}  # ties: larger version


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["a-then-b", "b-then-a"])
async def test_equal_source_times_end_the_same_in_either_arrival_order(
    sink: Sink, pool: asyncpg.Pool, order: tuple[int, int]
) -> None:
    # The same two versions of one lot (same source time), one batch each, in both orders:
    # the stored lot is the larger digest's version either way, never the last arrival's.
    versions = [
        member_row("91", "2021-03-01T00:00:00Z", Odometer=odo, **{"Sale Status": status})
        for odo, status in (("10.0", "Pure Sale"), ("20.0", "On Approval"))
    ]
    msgs = [row_msg(versions[i], file=f"file-{i}", row_no=1, offset=i) for i in (0, 1)]
    for i in order:
        await write(sink, [msgs[i]])
    best = max(msgs, key=version)
    best_row = orjson.loads(best.value or b"{}")
    async with pool.acquire() as conn:
        lot = await one(conn, "SELECT odometer, status, source_digest FROM public.lots")
    assert (lot["odometer"], lot["status"]) == (
        int(float(best_row["Odometer"])), best_row["Sale Status"]
    )  # fmt: skip
    assert bytes(lot["source_digest"]) == version(best)


async def test_replaying_a_batch_changes_nothing(sink: Sink, pool: asyncpg.Pool) -> None:
    messages = [
        started_msg(offset=0),
        row_msg(member_row("1"), row_no=1, offset=0),
        row_msg(member_row("2", VIN="4JGBF7BE5AA58553I"), row_no=2, offset=1),
        malformed_msg(row_no=3, offset=2),
        completed_msg(rows=3, malformed=1, offset=1),
    ]
    first = await write(sink, messages)
    assert first.rows == outcome(inserted=2)
    before = await dump(pool)
    again = await write(sink, messages)
    assert await dump(pool) == before
    assert again.rows == outcome(unchanged=2)
    assert again.raw_rows_inserted == 0
    assert again.parse_errors == {}
    assert again.conflicts == {}
    assert again.runs == {}


async def test_malformed_and_undecodable_rows_are_recorded(sink: Sink, pool: asyncpg.Pool) -> None:
    batch = batch_of(
        [
            malformed_msg(row_no=1, offset=0),
            row_msg(b"{not json", row_no=2, offset=1),
            row_msg({"Lot number": "", **member_row("")}, row_no=3, offset=2),
            row_msg(member_row("5"), row_no=4, offset=3, headers=()),
        ]
    )
    assert [d.letter_reason for d in batch.rejections] == [
        "malformed_row", "bad_json", "malformed_row", "missing_headers"
    ]  # fmt: skip
    out = await sink.write(batch)
    assert out.parse_errors == {
        "csv_field_count": 1, "bad_json": 1, "no_lot_number": 1, "missing_headers": 1
    }  # fmt: skip
    assert out.raw_rows_inserted == 3
    async with pool.acquire() as conn:
        raw = await conn.fetch(
            "SELECT row_no, kind, parse_error FROM raw.file_rows ORDER BY row_no"
        )
        assert [(r["row_no"], r["kind"]) for r in raw] == [
            (1, "malformed"), (2, "malformed"), (3, "malformed")
        ]  # fmt: skip
        assert all(r["parse_error"] for r in raw)
        keys = await conn.fetch("SELECT dedup_key, raw FROM audit.parse_errors ORDER BY reason")
        assert len(keys) == 4
        assert f"{ROW_TOPIC}:0:3" in {k["dedup_key"] for k in keys}
        run = await one(conn, "SELECT status, rows_processed, errors FROM audit.etl_runs")
        assert tuple(run) == ("started", 3, 3)
    assert await sink.committed_offsets(ROW_TOPIC, [0]) == {0: 4}


async def test_vin_conflicts_of_each_kind(sink: Sink, pool: asyncpg.Pool) -> None:
    first = [
        row_msg(member_row("10", VIN="4jgbf7be5aa585531"), row_no=1, offset=0),
        row_msg(member_row("11", VIN="KMHE24LI0HA059207"), row_no=2, offset=1),  # I -> 1
        row_msg(member_row("12", VIN="123456789"), row_no=3, offset=2),
        row_msg(member_row("13", VIN="5N1DL0MM5KC******"), row_no=4, offset=3),
        row_msg(member_row("14", VIN="[PREMIUM]"), row_no=5, offset=4),
        row_msg(member_row("15", VIN="4JGBF7BE5AA585531"), row_no=6, offset=5),  # other spelling
    ]
    out = await write(sink, first)
    assert out.conflicts == {
        "transliterated": 1, "invalid": 1, "masked": 2, "spelling_differs": 1
    }  # fmt: skip
    changed = member_row("10", "2020-06-08T00:00:00Z", VIN="5TDYZ3DCXHS795095")
    out = await write(sink, [row_msg(changed, file="file-b", row_no=1, offset=6)])
    assert out.conflicts == {"lot_vin_changed": 1}
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT conflict_reason, lot_external_id, vin_raw, vin_normalized, previous_value "
            "FROM audit.vin_conflicts ORDER BY lot_external_id, conflict_reason"
        )
        got = {(r["lot_external_id"], r["conflict_reason"]): r for r in rows}
        assert got["10", "lot_vin_changed"]["previous_value"] == GOOD_VIN
        assert got["10", "lot_vin_changed"]["vin_normalized"] == "5TDYZ3DCXHS795095"
        assert got["11", "transliterated"]["vin_normalized"] == "KMHE24L10HA059207"
        assert got["15", "spelling_differs"]["previous_value"] == "4jgbf7be5aa585531"
        assert set(got) == {
            ("10", "lot_vin_changed"), ("11", "transliterated"), ("12", "invalid"),
            ("13", "masked"), ("14", "masked"), ("15", "spelling_differs"),
        }  # fmt: skip
        lots = {
            r[0]: r[1] for r in await conn.fetch("SELECT lot_external_id, vin FROM public.lots")
        }
        assert lots["12"] is None
        assert lots["13"] is None
        assert lots["10"] == "5TDYZ3DCXHS795095"


async def test_etl_run_started_then_completed_and_aborted_fails(
    sink: Sink, pool: asyncpg.Pool
) -> None:
    out = await write(sink, [started_msg(offset=0), started_msg(file="file-x", offset=1)])
    assert out.runs == {"started": 2}
    out = await write(sink, [row_msg(member_row("1"), row_no=1, offset=0)])
    assert out.runs == {}
    out = await write(sink, [completed_msg(rows=2, offset=2)])
    assert out.runs == {}  # one row still missing
    out = await write(sink, [row_msg(member_row("2"), row_no=2, offset=1),
                             aborted_msg(rows=0, file="file-x", offset=3)])  # fmt: skip
    assert out.runs == {"completed": 1, "failed": 1}
    async with pool.acquire() as conn:
        runs = await conn.fetch("SELECT file_id, status, rows_processed FROM audit.etl_runs")
    status = {r["file_id"]: (r["status"], r["rows_processed"]) for r in runs}
    assert status[file_id_for(sha_of("file-a"))] == ("completed", 2)
    assert status[file_id_for(sha_of("file-x"))] == ("failed", 0)
    out = await write(sink, [aborted_msg(rows=2, offset=4)])  # too late: stays completed
    assert out.runs == {}


async def test_offsets_only_move_forward(sink: Sink) -> None:
    await write(sink, [row_msg(member_row("1"), row_no=1, offset=41, partition=3)])
    zombie = [row_msg(member_row("2"), row_no=2, offset=7, partition=3)]
    await write(sink, zombie)
    assert await sink.committed_offsets(ROW_TOPIC, [3, 4]) == {3: 42}


async def test_reject_records_the_refused_message(sink: Sink, pool: asyncpg.Pool) -> None:
    message = row_msg(member_row("9"), row_no=5, offset=12)
    batch = reject(decoded([message]), reason="constraint", error=ValueError("value too long"))
    assert [d.reason for d in batch.rejections] == ["constraint"]
    out = await sink.write(batch)
    assert out.parse_errors == {"constraint": 1}
    async with pool.acquire() as conn:
        rec = await one(conn, "SELECT * FROM audit.parse_errors")
        assert rec["reason"] == "constraint"
        assert rec["row_no"] == 5
        assert rec["consumer"] == "test-consumer-1"
        assert "value too long" in rec["message"]
        assert await conn.fetchval("SELECT rows_processed FROM audit.etl_runs") == 1
    assert await sink.committed_offsets(ROW_TOPIC, [0]) == {0: 13}


async def test_nul_in_a_cell_is_dropped_from_typed_columns_but_kept_raw(
    sink: Sink, pool: asyncpg.Pool
) -> None:
    # PostgreSQL text (and the JSON the sink sends its rows in) cannot hold NUL.
    message = row_msg(member_row("31", Make="FO\x00RD", **{"Special Note": "A\x00B"}),
                      row_no=1, offset=0)  # fmt: skip
    assert message.value is not None
    assert b"\\u0000" in message.value
    out = await write(sink, [message])
    assert out.rows == outcome(inserted=1)
    async with pool.acquire() as conn:
        lot = await one(conn, "SELECT make, special_note FROM public.lots")
        assert (lot["make"], lot["special_note"]) == ("FORD", "AB")
        assert await message_value(conn, 1) == message.value  # the raw layer keeps the original


async def write_known(sink: Sink, messages: Sequence[Inbound]) -> PreparedBatch:
    """What the service does: digest every row, look the digests up, then prepare and write."""
    known = await sink.known_contents(decoded(messages).digests())
    batch = prepare_records(messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, known=known)
    await sink.write(batch)
    return batch


async def test_a_repeated_snapshot_writes_only_what_changed(sink: Sink, pool: asyncpg.Pool) -> None:
    lots = ("1", "2", "3")
    first = [member_row(lot, "2021-05-01T00:00:00Z", Odometer="1.0") for lot in lots]
    second = [*first]
    second[1] = member_row("2", "2021-05-02T00:00:00Z", Odometer="2.0")  # the one change

    def snapshot(file: str, rows: list[dict[str, str]], base: int) -> list[Inbound]:
        return [
            started_msg(file=file, offset=base),
            *(row_msg(r, file=file, row_no=i + 1, offset=base + i) for i, r in enumerate(rows)),
            completed_msg(rows=len(rows), file=file, offset=base + 1),
        ]

    one_batch = await write_known(sink, snapshot("snap-1", first, 0))
    assert one_batch.unchanged == 0
    async with pool.acquire() as conn:
        before = {
            r[0]: r[1]
            for r in await conn.fetch("SELECT lot_external_id, updated_at FROM public.lots")
        }
    two_batch = await write_known(sink, snapshot("snap-2", second, 10))
    assert two_batch.unchanged == 2
    assert [r.mapped is not None for r in two_batch.rows] == [True]  # only the changed lot
    assert len(two_batch.references) == 3
    async with pool.acquire() as conn:
        after = {
            r[0]: r[1]
            for r in await conn.fetch("SELECT lot_external_id, updated_at FROM public.lots")
        }
        assert after["1"] == before["1"]
        assert after["3"] == before["3"]
        assert after["2"] > before["2"]
        assert (
            await conn.fetchval("SELECT odometer FROM public.lots WHERE lot_external_id = '2'") == 2
        )
        assert await conn.fetchval("SELECT count(*) FROM raw.file_rows") == 6
        assert await conn.fetchval("SELECT count(*) FROM raw.contents") == 4
        assert await conn.fetchval("SELECT count(*) FROM staging.copart_raw") == 4
        counts = {
            r["path"]: (r["rows_ingested"], r["rows_ok"], r["lots_touched"], r["run_status"])
            for r in await conn.fetch("SELECT * FROM audit.v_ingest_count")
        }
        assert counts == {
            "/data/snap-1.csv": (3, 3, 3, "completed"),
            "/data/snap-2.csv": (3, 3, 3, "completed"),
        }
        rates = {
            r["file_id"]: (r["rows"], r["fields_total"], r["fields_unknown"])
            for r in await conn.fetch(
                "SELECT file_id, sum(rows) AS rows, sum(fields_total) AS fields_total,"
                " sum(fields_unknown) AS fields_unknown FROM audit.v_unknown_rate GROUP BY 1"
            )
        }
        one_id, two_id = file_id_for(sha_of("snap-1")), file_id_for(sha_of("snap-2"))
        assert rates[one_id] == rates[two_id]  # a repeated row keeps its unknown-field count
        assert rates[one_id][0] == 3
        payloads = await conn.fetch(
            "SELECT row_no, payload::text AS p FROM raw.v_rows WHERE file_id = $1 ORDER BY 2",
            two_id,
        )
        assert [orjson.loads(r["p"]) for r in sorted(payloads, key=lambda r: r["row_no"])] == second


async def test_a_batch_touching_one_row_twice_is_bisected_not_retried(
    sink: Sink, pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    # Two winners for one lot (what a dedupe defect would produce): PostgreSQL refuses the
    # upsert with SQLSTATE 21000. It must be a data error, which the writer bisects.
    a = row_msg(member_row("5", Odometer="1.0"), row_no=1, offset=0)
    b = row_msg(member_row("5", Odometer="2.0"), row_no=2, offset=1)
    batch = batch_of([a, b])
    broken = dataclasses.replace(batch, winners=dataclasses.replace(batch.winners, lots=(0, 1)))
    with pytest.raises(errors.DataError) as caught:
        await sink.write(broken)
    assert getattr(caught.value.__cause__, "sqlstate", None) == "21000"
    metrics = Metrics(CollectorRegistry())
    dlq = DeadLetterSender(  # no letters in this batch: never sends
        kafka_bootstrap, "vinops.test.unused.dlq", "test", max_message_bytes=1_000_000
    )
    await dlq.start()
    try:
        writer = BatchWriter(sink, dlq, metrics)
        offsets = await writer.write(decoded([a, b]), set(), broken)
    finally:
        await dlq.stop()
    assert offsets == {(ROW_TOPIC, 0): 2}
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM public.lots") == 1
        assert await conn.fetchval("SELECT count(*) FROM raw.file_rows") == 2


async def test_references_partly_recorded_keep_the_first_and_count_only_the_new(
    sink: Sink, pool: asyncpg.Pool
) -> None:
    # The COPY straight into raw.file_rows meets rows already there (a file published again,
    # part of it written before): the savepoint undoes it and only the new rows are recorded.
    rows = [row_msg(member_row(str(i)), row_no=i, offset=i - 1) for i in (1, 2, 3)]
    first = await write(sink, [started_msg(offset=0), *rows[:2]])
    assert first.raw_rows_inserted == 2
    # The same rows again, read at other offsets: an overwrite would show the new offsets.
    resent = [dataclasses.replace(r, offset=r.offset + 10) for r in rows]
    again = await write(sink, [*resent, completed_msg(rows=3, offset=1)])
    assert again.raw_rows_inserted == 1
    assert again.rows == outcome(inserted=1, unchanged=2)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM raw.file_rows") == 3
        offsets = await conn.fetch("SELECT row_no, kafka_offset FROM raw.file_rows ORDER BY 1")
        assert [(r[0], r[1]) for r in offsets] == [(1, 0), (2, 1), (3, 12)]
        run = await one(conn, "SELECT rows_processed, status FROM audit.etl_runs")
    assert (run["rows_processed"], run["status"]) == (3, "completed")


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["a-then-b", "b-then-a"])
async def test_a_version_that_maps_to_the_stored_values_writes_nothing(
    sink: Sink, pool: asyncpg.Pool, order: tuple[int, int]
) -> None:
    # Two contents (they differ in a cell nothing maps) with one source time: whichever has
    # the larger content digest, the second changes no row of any core table.
    versions = [
        member_row("96", "2021-04-01T00:00:00Z", **{"Day of Week": day})
        for day in ("MONDAY", "FRIDAY")
    ]
    msgs = [row_msg(versions[i], file=f"alike-{i}", row_no=1, offset=i) for i in (0, 1)]
    assert digest_of(msgs[0]) != digest_of(msgs[1])
    assert version(msgs[0]) == version(msgs[1])
    core = (
        "SELECT (SELECT array_agg(xmin::text || updated_at::text) FROM public.lots)"
        " || (SELECT array_agg(xmin::text || updated_at::text) FROM public.vehicles)"
        " || (SELECT array_agg(xmin::text || updated_at::text) FROM public.sale_events)"
    )
    first = await write(sink, [msgs[order[0]]])
    assert first.rows == outcome(inserted=1)
    async with pool.acquire() as conn:
        before = await conn.fetchval(core)
    second = await write(sink, [msgs[order[1]]])
    assert second.rows == outcome(unchanged=1)
    async with pool.acquire() as conn:
        assert await conn.fetchval(core) == before


async def test_a_digest_header_naming_another_content_is_not_trusted(
    sink: Sink, pool: asyncpg.Pool
) -> None:
    seven = row_msg(member_row("7"), file="honest", row_no=1, offset=0)
    await write_known(sink, [seven])
    # Lot 8's row announces lot 7's (applied) content: the consumer hashes the value itself.
    eight = row_msg(member_row("8"), file="liar", row_no=1, offset=1)
    lying = dataclasses.replace(
        eight,
        headers=(*eight.headers[:-1], (H_DIGEST, digest_of(seven).hex().encode())),
    )
    batch = await write_known(sink, [lying])
    assert (batch.digest_mismatches, batch.unchanged) == (1, 0)
    async with pool.acquire() as conn:
        lots = {r[0] for r in await conn.fetch("SELECT lot_external_id FROM public.lots")}
        stored = await conn.fetchval("SELECT digest FROM raw.file_rows WHERE lot_external_id = '8'")
        assert await message_value(conn, 1, file="liar") == eight.value
    assert lots == {"7", "8"}
    assert bytes(stored) == digest_of(eight)


async def test_a_new_mapping_version_applies_an_unchanged_content_again(
    sink: Sink, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    def download(n: int) -> Inbound:
        return row_msg(member_row("97"), file=f"mapping-{n}", row_no=1, offset=n)

    await write_known(sink, [download(1)])
    async with pool.acquire() as conn:
        # What an older mapping would have left (or a restored backup): not what the row says.
        await conn.execute(
            "UPDATE public.lots SET make = 'OLD MAPPING' WHERE lot_external_id = '97'"
        )
    again = await write_known(sink, [download(2)])
    assert (again.unchanged, again.rows) == (1, ())  # applied under this version: skipped
    monkeypatch.setattr(mapped, "MAPPING_VERSION", mapped.MAPPING_VERSION + 1)
    bumped = await write_known(sink, [download(3)])
    assert bumped.unchanged == 0
    assert [r.lot_external_id for r in bumped.rows] == ["97"]
    async with pool.acquire() as conn:
        lot = await one(conn, "SELECT make, source_digest FROM public.lots")
        version = await conn.fetchval("SELECT DISTINCT mapping_version FROM raw.contents")
    assert lot["make"] == "MERCEDES-BENZ"
    assert bytes(lot["source_digest"])[:2] == (mapped.MAPPING_VERSION).to_bytes(2, "big")
    assert version == mapped.MAPPING_VERSION
    # And under the new version it is skipped again.
    assert (await write_known(sink, [download(4)])).unchanged == 1


async def test_a_bisected_half_neither_reapplies_nor_resends_what_is_stored(
    sink: Sink, pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    known_row = row_msg(member_row("6"), file="first", row_no=1, offset=0)
    await write_known(sink, [known_row])
    again = row_msg(member_row("6"), file="second", row_no=1, offset=1)
    a = row_msg(member_row("5", Odometer="1.0"), file="second", row_no=2, offset=2)
    b = row_msg(member_row("5", Odometer="2.0"), file="second", row_no=3, offset=3)
    known = await sink.known_contents(decoded([again, a, b]).digests())
    batch = prepare_records(
        [again, a, b], row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, known=known
    )
    broken = dataclasses.replace(batch, winners=dataclasses.replace(batch.winners, lots=(0, 1)))
    metrics = Metrics(CollectorRegistry())
    dlq = DeadLetterSender(
        kafka_bootstrap, "vinops.test.unused.dlq", "test", max_message_bytes=1_000_000
    )
    await dlq.start()
    try:
        writer = BatchWriter(sink, dlq, metrics)
        await writer.write(decoded([again, a, b]), set(), broken)
    finally:
        await dlq.stop()
    async with pool.acquire() as conn:
        orphans = await conn.fetchval(
            "SELECT count(*) FROM raw.content_chunks ch WHERE NOT EXISTS "
            "(SELECT 1 FROM raw.contents c WHERE c.chunk_id = ch.chunk_id)"
        )
        assert orphans == 0
        assert await conn.fetchval("SELECT count(*) FROM raw.file_rows") == 4
    assert metrics.registry.get_sample_value("vinops_rows_unchanged_total") == 1


async def test_a_refused_row_applied_by_a_later_publication_becomes_a_row(
    sink: Sink, fresh_db: FreshDb, kafka_bootstrap: str, unique_name: Any
) -> None:
    poison = row_msg(member_row("71", Make="POISON"), file="forced", row_no=1, offset=0)
    admin = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        await admin.execute(
            "ALTER TABLE public.lots ADD CONSTRAINT test_no_poison CHECK (make <> 'POISON')"
        )
        metrics = Metrics(CollectorRegistry())
        dlq_topic = unique_name("dlq")
        await create_topics(kafka_bootstrap, dlq_topic, partitions=1)
        dlq = DeadLetterSender(kafka_bootstrap, dlq_topic, "test", max_message_bytes=1_000_000)
        await dlq.start()
        try:
            writer = BatchWriter(sink, dlq, metrics)
            await writer.write(decoded([poison]), set())
            refused = await admin.fetchrow("SELECT kind, parse_error FROM raw.file_rows")
            assert refused is not None
            assert refused["kind"] == "malformed"
            # Fixed, then the file published again with --force: the same physical row.
            await admin.execute("ALTER TABLE public.lots DROP CONSTRAINT test_no_poison")
            await writer.write(decoded([dataclasses.replace(poison, offset=5)]), set())
        finally:
            await dlq.stop()
        row = await admin.fetchrow("SELECT kind, parse_error, kafka_offset FROM raw.file_rows")
        counted = await admin.fetchrow(
            "SELECT rows_ingested, rows_ok, lots_touched FROM audit.v_ingest_count"
        )
    finally:
        await admin.close()
    assert row is not None
    assert (row["kind"], row["parse_error"], row["kafka_offset"]) == ("row", None, 0)
    assert counted is not None
    assert tuple(counted) == (1, 1, 1)  # the audit view now agrees with public.lots
