"""Hand-built feed messages for consumer tests (shared by unit and integration tests)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from consumer.intake.batch import Batch
from consumer.intake.decoder import Decoder
from consumer.intake.records import Inbound
from feed.contract import (
    DEFAULT_FILES_TOPIC,
    DEFAULT_ROW_TOPIC,
    FileAborted,
    FileCompleted,
    FileStarted,
    RowKind,
    RowMeta,
    digest_header,
    encode_file_event,
    encode_malformed,
    encode_row,
    file_id_for,
    row_digest,
)
from feed.dialects import MEMBER_COLUMNS
from feed.layouts import MEMBER_2020

ROW_TOPIC = DEFAULT_ROW_TOPIC
FILES_TOPIC = DEFAULT_FILES_TOPIC

MEMBER_HEADERS = MEMBER_2020
assert all(h == "Id" or h in MEMBER_COLUMNS for h in MEMBER_HEADERS)

GOOD_VIN = "4JGBF7BE5AA585531"


def member_row(lot: str, updated: str = "2020-06-06T07:01:00Z", **cells: str) -> dict[str, str]:
    """A realistic member-feed row; keyword names use canonical-ish short names below."""
    row = {
        "Id": "1", "Yard number": "1", "Yard name": "CA - VALLEJO", "Sale Date M/D/CY": "20200702",
        "Day of Week": "THURSDAY", "Sale time (HHMM)": "1000", "Time Zone": "PDT", "Item#": "245",
        "Lot number": lot, "Vehicle Type": "V", "Year": "2010", "Make": "MERCEDES-BENZ",
        "Model Group": "GL-CLASS", "Model Detail": "GL450 4MAT", "Body Style": "4DR SPOR",
        "Color": "BLACK", "Damage Description": "FRONT END", "Secondary Damage": "",
        "Sale Title State": "CA", "Sale Title Type": "SC", "Has Keys-Yes or No": "YES",
        "Lot Cond. Code": "D", "VIN": GOOD_VIN, "Odometer": "172691.0", "Odometer Brand": "A",
        "Est. Retail Value": "20314.23", "Repair cost": "0.0", "Engine": "4.6L  8",
        "Drive": "All wheel drive", "Transmission": "Automatic", "Fuel Type": "Gas",
        "Cylinders": "8", "Runs/Drives": "Run & Drive Verified", "Sale Status": "Pure Sale",
        "High Bid =non-vix,Sealed=Vix": "275.0", "Special Note": "NO LICENSE PLATE" + " " * 12,
        "Location city": "VALLEJO", "Location state": "CA", "Location ZIP": "94590 7203",
        "Location country": "USA", "Currency Code": "USD",
        "Image Thumbnail": f"cs.copart.com/v1/AUTH_svc.pdoc00001/PIX243/{lot}.JPG",
        "Create Date/Time": "2020-06-30-10.50.12.000197", "Grid/Row": "A12",
        "Make-an-Offer Eligible": "N", "Buy-It-Now Price": "0.0",
        "Image URL": f"http://inventory.copart.io/v1/lotImages/{lot}?country=us&brand=cprt&yardNumber=1",
        "Trim": "GL450", "Last Updated Time": updated,
    }  # fmt: skip
    row.update(cells)
    return row


def digest_of(message: Inbound) -> bytes:
    """The content digest a consumer computes for a member row message (``Id`` cut out)."""
    assert message.value is not None
    return row_digest(message.value, "copart-member")[0]


def sha_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def row_msg(
    values: Mapping[str, str] | bytes,
    *,
    file: str = "file-a",
    row_no: int,
    offset: int,
    partition: int = 0,
    dialect: str = "copart-member",
    kind: RowKind = RowKind.ROW,
    timestamp_ms: int = 1_700_000_000_000,
    headers: tuple[tuple[str, bytes], ...] | None = None,
) -> Inbound:
    sha = sha_of(file)
    meta = RowMeta(file_id=file_id_for(sha), sha256=sha, row_no=row_no, dialect=dialect, kind=kind)
    value = values if isinstance(values, bytes) else encode_row(values)
    key = values.get("Lot number", "") if isinstance(values, Mapping) else ""
    return Inbound(
        topic=ROW_TOPIC, partition=partition, offset=offset, key=str(key).encode(), value=value,
        headers=(
            (*meta.kafka_headers(), digest_header(value, dialect if kind is RowKind.ROW else ""))
            if headers is None
            else headers
        ),
        timestamp_ms=timestamp_ms + offset,
    )  # fmt: skip


def malformed_msg(*, file: str = "file-a", row_no: int, offset: int, partition: int = 0) -> Inbound:
    value = encode_malformed('1,"2', "csv_field_count: expected 49 fields, got 2", ["1", "2"])
    return row_msg(value, file=file, row_no=row_no, offset=offset, partition=partition,
                   kind=RowKind.MALFORMED)  # fmt: skip


def _file_msg(value: bytes, file: str, offset: int, partition: int) -> Inbound:
    return Inbound(FILES_TOPIC, partition, offset, sha_of(file).encode(), value, (), 1)


def started_msg(*, file: str = "file-a", offset: int = 0, partition: int = 0) -> Inbound:
    sha = sha_of(file)
    event = FileStarted(
        file_id=str(file_id_for(sha)), sha256=sha, path=f"/data/{file}.csv", bytes=1234,
        headers=list(MEMBER_HEADERS), dialect="copart-member", encoding="utf-8",
        started_at="2024-01-02T03:04:05Z",
    )  # fmt: skip
    return _file_msg(encode_file_event(event), file, offset, partition)


def completed_msg(
    *, rows: int, malformed: int = 0, file: str = "file-a", offset: int = 1, partition: int = 0
) -> Inbound:
    sha = sha_of(file)
    event = FileCompleted(
        file_id=str(file_id_for(sha)), sha256=sha, rows=rows, malformed=malformed, seconds=1.5,
        completed_at="2024-01-02T03:05:00Z",
    )  # fmt: skip
    return _file_msg(encode_file_event(event), file, offset, partition)


def aborted_msg(*, rows: int, file: str = "file-a", offset: int = 1, partition: int = 0) -> Inbound:
    sha = sha_of(file)
    event = FileAborted(
        file_id=str(file_id_for(sha)), sha256=sha, rows=rows, reason="interrupted",
        aborted_at="2024-01-02T03:05:00Z",
    )  # fmt: skip
    return _file_msg(encode_file_event(event), file, offset, partition)


def decoded(records: Sequence[Inbound]) -> Batch:
    """Records as intake makes them: typed messages, in one batch."""
    return Batch.of(Decoder(ROW_TOPIC, FILES_TOPIC).decode_all(list(records)))
