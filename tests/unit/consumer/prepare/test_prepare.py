"""prepare(): decode, reject, dedupe and compute offsets without any I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt

import orjson

from consumer.intake.records import Inbound
from consumer.prepare.mapping import map_row
from consumer.prepare.prepare import prepare_records
from consumer.prepare.prepared import PreparedBatch
from consumer.prepare.rejects import reject
from feed.contract import (
    H_CONTRACT,
    FileCompleted,
    encode_file_event,
    file_id_for,
)
from tests.unit.consumer.feedrows import (
    FILES_TOPIC,
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


def run(*messages: Inbound) -> PreparedBatch:
    return prepare_records(messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC)


def lots_won(batch: PreparedBatch) -> dict[str, int]:
    return {
        batch.rows[i].lot_external_id or "": batch.rows[i].record.offset for i in batch.winners.lots
    }


def test_newest_version_per_lot_wins_and_the_rest_count_stale() -> None:
    batch = run(
        row_msg(member_row("1", "2020-06-07T00:00:00Z"), row_no=1, offset=10),
        row_msg(member_row("1", "2020-06-06T00:00:00Z"), row_no=2, offset=11),
        row_msg(member_row("2", "2020-06-06T00:00:00Z"), row_no=3, offset=12),
        row_msg(member_row("2", "2020-06-06T00:00:00Z"), row_no=4, offset=13),  # same content
        row_msg(member_row("3", "garbage"), row_no=5, offset=14),  # unknown time
        row_msg(member_row("3", "1999-01-01T00:00:00Z"), row_no=6, offset=15),
    )
    assert lots_won(batch) == {"1": 10, "2": 12, "3": 15}
    assert batch.deduped_stale == 2
    assert batch.unchanged == 1  # a repeat of a content of this batch is only referenced
    assert len(batch.references) == 6  # every version still goes to raw.file_rows


def version(message: Inbound) -> bytes:
    return map_row("copart-member", orjson.loads(message.value or b"")).version


def test_equal_source_times_go_to_the_larger_version_digest_in_either_order() -> None:
    a = row_msg(member_row("1", Make="FORD"), row_no=1, offset=50, partition=1)
    b = row_msg(member_row("1", Make="HONDA"), row_no=2, offset=90, partition=0)
    larger = max((a, b), key=version)
    for first, second in ((a, b), (b, a)):
        batch = run(first, second)
        (won,) = batch.winners.lots
        assert batch.rows[won].record is larger


def test_versions_that_map_alike_are_one_version_whatever_their_content_digest() -> None:
    # Equal mapped values: equal version digests, so neither can overwrite the other.
    a = row_msg(member_row("1", **{"Day of Week": "MONDAY"}), row_no=1, offset=1)
    b = row_msg(member_row("1", **{"Day of Week": "FRIDAY"}), row_no=2, offset=2)
    assert digest_of(a) != digest_of(b)
    assert version(a) == version(b)


def test_vehicles_sale_events_and_images_are_deduped() -> None:
    batch = run(
        row_msg(member_row("1", "2020-06-06T00:00:00Z", VIN="4jgbf7be5aa585531"),
                row_no=1, offset=0),
        row_msg(member_row("2", "2020-06-08T00:00:00Z"), row_no=2, offset=1),
        row_msg(member_row("1", "2020-06-07T00:00:00Z"), row_no=3, offset=2),
    )  # fmt: skip
    # The newest version wins whole: its own spelling of the VIN.
    assert batch.winners.vehicles == ((1, "4JGBF7BE5AA585531"),)
    assert batch.winners.sale_events == (1, 2)  # one per (lot, sale date)
    assert len(batch.winners.images) == 4  # 2 lots x (thumbnail, lot images)


def test_offsets_are_the_next_offset_per_partition() -> None:
    batch = run(
        row_msg(member_row("1"), row_no=1, offset=7, partition=0),
        row_msg(member_row("2"), row_no=2, offset=3, partition=0),
        row_msg(member_row("3"), row_no=3, offset=41, partition=2),
        started_msg(offset=5),
    )
    assert batch.offsets == {(ROW_TOPIC, 0): 8, (ROW_TOPIC, 2): 42, (FILES_TOPIC, 0): 6}
    assert batch.newest_timestamp_ms == 1_700_000_000_041


def test_rejects_for_bad_messages() -> None:
    good = row_msg(member_row("1"), row_no=1, offset=0)
    no_headers = row_msg(member_row("2"), row_no=2, offset=1, headers=())
    wrong_contract = row_msg(
        member_row("3"), row_no=3, offset=2,
        headers=tuple((k, b"9" if k == H_CONTRACT else v) for k, v in good.headers),
    )  # fmt: skip
    bad_file_event = Inbound(FILES_TOPIC, 0, 9, b"k", b"[1, 2]", (), 1)
    batch = run(good, no_headers, wrong_contract, bad_file_event)
    reasons = {d.record.offset: d.reason for d in batch.rejections}
    assert reasons == {1: "missing_headers", 2: "contract_version", 9: "bad_json"}
    assert {p.reason for p in batch.rejections} == {
        "missing_headers", "contract_version", "bad_json"
    }  # fmt: skip
    keys = {p.dedup_key for p in batch.rejections}
    assert f"{ROW_TOPIC}:0:1" in keys
    assert f"{FILES_TOPIC}:0:9" in keys
    assert [r.lot_external_id for r in batch.rows] == ["1"]


def test_malformed_and_undecodable_rows_are_kept_and_dead_lettered() -> None:
    batch = run(
        malformed_msg(row_no=1, offset=0),
        row_msg(b"\xff not json", row_no=2, offset=1),
        row_msg(member_row(""), row_no=3, offset=2),
    )
    assert [(r.kind, r.lot_external_id) for r in batch.rows] == [
        ("malformed", None), ("malformed", None), ("malformed", None)
    ]  # fmt: skip
    assert [p.reason for p in batch.rejections] == [
        "csv_field_count", "bad_json", "no_lot_number"
    ]  # fmt: skip
    assert [d.letter_reason for d in batch.rejections] == [
        "malformed_row",
        "bad_json",
        "malformed_row",
    ]
    file_id = file_id_for(sha_of("file-a"))
    assert batch.rejections[0].dedup_key == f"{file_id}:1"
    assert batch.rejections[0].raw == '1,"2'
    assert '"raw"' in (batch.rows[1].body or "")  # wrapped so the json column accepts it


def test_file_events_merge_per_file() -> None:
    batch = run(
        row_msg(member_row("1"), row_no=1, offset=0),
        started_msg(offset=0),
        completed_msg(rows=10, malformed=2, offset=1),
        aborted_msg(rows=3, file="file-b", offset=2),
    )
    files = {f.sha256: f for f in batch.files}
    a = files[sha_of("file-a")]
    assert (a.path, a.rows_published, a.malformed_rows, a.has_event) == (
        "/data/file-a.csv", 10, 2, True
    )  # fmt: skip
    assert a.started_at == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert a.dialect == "copart-member"
    assert not a.aborted
    assert files[sha_of("file-b")].aborted


def test_nul_characters_never_reach_typed_columns() -> None:
    batch = run(row_msg(member_row("1", Make="FO\x00RD"), row_no=1, offset=0))
    mapped = batch.rows[0].mapped
    assert mapped is not None
    assert "FORD" in mapped.vehicle
    assert "\\u0000" in (batch.rows[0].body or "")  # the raw layer keeps the original


def test_reject_keeps_the_raw_row_and_records_the_refusal() -> None:
    message = row_msg(member_row("1"), row_no=4, offset=8)
    batch = reject(decoded([message]), reason="constraint", error=ValueError("too long"))
    (raw,) = batch.rows
    assert (raw.kind, raw.meta.row_no, raw.mapped) == ("malformed", 4, None)
    assert raw.parse_error == "ValueError: too long"
    assert (raw.body or "").encode() == message.value
    assert batch.offsets == {(ROW_TOPIC, 0): 9}
    (record,) = batch.rejections
    assert record.reason == "constraint"
    assert record.row_no == 4
    assert not record.counts_as_row  # its raw row counts towards the run
    assert batch.rejections[0].error_class == "ValueError"
    assert [f.sha256 for f in batch.files] == [sha_of("file-a")]


def test_reject_without_raw_row_counts_the_error_as_the_row() -> None:
    message = row_msg(member_row("1"), row_no=4, offset=8)
    batch = reject(decoded([message]), reason="constraint", error=ValueError("x"), keep_raw=False)
    assert batch.rows == ()
    (record,) = batch.rejections
    assert record.counts_as_row


def test_untrusted_headers_are_keyed_by_kafka_position() -> None:
    good = row_msg(member_row("1"), row_no=1, offset=0)
    wrong_contract = dataclasses.replace(
        good,
        offset=1,
        headers=tuple((k, b"99" if k == "vinops-contract" else v) for k, v in good.headers),
    )
    bad_json = dataclasses.replace(good, offset=2, value=b"{not json")
    batch = run(wrong_contract, bad_json)
    keys = sorted(p.dedup_key for p in batch.rejections)
    assert len(set(keys)) == 2
    assert f"{ROW_TOPIC}:0:1" in keys


def test_fields_are_summed() -> None:
    batch = run(row_msg(member_row("1"), row_no=1, offset=0),
                row_msg(member_row("2"), row_no=2, offset=1))  # fmt: skip
    assert (batch.fields_total, batch.fields_unknown) == (96, 6)


# ---- oversized rows: kept whole, recorded, never mapped --------------------------------


def test_an_oversized_row_is_kept_whole_and_recorded_not_mapped() -> None:
    note = "x" * 5000
    big = row_msg(member_row("7", **{"Special Note": note}), row_no=2, offset=1)
    assert big.value is not None
    batch = prepare_records(
        [row_msg(member_row("6"), row_no=1, offset=0), big],
        row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, max_row_bytes=4096,
    )  # fmt: skip
    [kept] = [r for r in batch.rows if r.record is big]
    assert kept.kind == "malformed"
    assert kept.mapped is None
    assert (kept.body or "").encode() == big.value  # the JSON value unchanged: lossless
    assert (kept.parse_error or "").startswith("oversized: ")
    [error] = batch.rejections
    assert (error.reason, error.raw) == ("oversized", big.value.decode())
    assert error.dedup_key == f"{kept.meta.file_id}:2"
    assert [(d.letter_reason, d.record) for d in batch.rejections] == [("oversized", big)]
    assert lots_won(batch) == {"6": 0}


def test_an_oversized_value_that_is_not_json_is_wrapped_with_its_text() -> None:
    value = b"not json " * 1000
    batch = prepare_records(
        [row_msg(value, row_no=1, offset=0)],
        row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, max_row_bytes=1000,
    )  # fmt: skip
    [kept] = batch.rows
    assert orjson.loads(kept.body or "{}")["raw"] == value.decode()
    assert [p.reason for p in batch.rejections] == ["oversized"]


def test_rows_up_to_the_bound_are_mapped_as_usual() -> None:
    msg = row_msg(member_row("6"), row_no=1, offset=0)
    assert msg.value is not None
    batch = prepare_records(
        [msg], row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, max_row_bytes=len(msg.value)
    )
    assert batch.rows[0].mapped is not None
    assert batch.rejections == ()


def test_a_rows_encoding_never_overrides_the_files_in_an_event() -> None:
    # Found by the fault soak: whether a file's rows and its 'completed' event shared a
    # batch decided raw.csv_files.encoding (a utf-8 row's header vs the file's cp1252).
    sha = sha_of("file-a")
    done = FileCompleted(
        file_id=str(file_id_for(sha)), sha256=sha, rows=1, malformed=0, seconds=1.0,
        completed_at="2024-01-02T03:05:00Z", encoding="cp1252",
    )  # fmt: skip
    event = Inbound(FILES_TOPIC, 0, 1, sha.encode(), encode_file_event(done), (), 1)
    together = run(row_msg(member_row("1"), row_no=1, offset=0), event)
    alone = run(event)
    assert together.files[0].encoding == alone.files[0].encoding == "cp1252"
    aborted = run(row_msg(member_row("1"), row_no=1, offset=0), aborted_msg(rows=1))
    assert aborted.files[0].encoding is None  # keeps what the file's 'started' stored
