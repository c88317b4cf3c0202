"""The feed file as the peer receives it: one schema'd JSON message per good row.

Each row is typed by the consumer's own mapping (``consumer.prepare.mapping.map_row``), so the
peer's table holds the same values as ``public.lots`` (with year/make/model, the file id and
row number) and the peer does no parsing of its own: it is handed typed records, as a
Kafka Connect pipeline would be. Key: the lot number in a schema'd struct. After the rows,
one *end marker* per partition (a row whose lot number is ``~end:<file id>:<partition>``):
a sink writes a partition in order, so the marker's arrival in the table says the
partition's rows before it are written.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from bench.sql_floor import ROW_TOPIC, messages
from consumer.prepare.mapped import LOT_COLUMNS
from consumer.prepare.mapping import RowProblemError, map_row
from feed.contract import H_DIALECT, H_FILE_ID, H_KIND, H_ROW_NO, RowKind, decode_value

END_PREFIX = "~end:"
_INT32 = {"yard_number", "item_number", "odometer", "source_row_no"}
_INT16 = {"sale_time_hhmm", "year"}
_BOOLEAN = {"has_keys", "make_offer_eligible"}
_DATE = {"sale_date"}
_TIMESTAMP = {"auction_datetime_utc", "source_created_at", "source_updated_at"}
_DECIMAL = {"est_retail_value", "repair_cost", "high_bid", "buy_it_now_price"}
VEHICLE_COLUMNS = ("year", "make", "model_group", "model_detail")
COLUMNS: tuple[str, ...] = (*LOT_COLUMNS, *VEHICLE_COLUMNS, "source_file_id", "source_row_no")


def _field(name: str) -> dict[str, Any]:
    optional = name != "lot_external_id"
    if name in _INT32:
        return {"field": name, "type": "int32", "optional": optional}
    if name in _INT16:
        return {"field": name, "type": "int16", "optional": optional}
    if name in _BOOLEAN:
        return {"field": name, "type": "boolean", "optional": optional}
    if name in _DATE:
        return {"field": name, "type": "int32", "optional": optional, "version": 1,
                "name": "org.apache.kafka.connect.data.Date"}  # fmt: skip
    if name in _TIMESTAMP:
        return {"field": name, "type": "int64", "optional": optional, "version": 1,
                "name": "org.apache.kafka.connect.data.Timestamp"}  # fmt: skip
    if name in _DECIMAL:
        return {"field": name, "type": "bytes", "optional": optional, "version": 1,
                "name": "org.apache.kafka.connect.data.Decimal",
                "parameters": {"scale": "2", "connect.decimal.precision": "14"}}  # fmt: skip
    return {"field": name, "type": "string", "optional": optional}


SCHEMA = {"type": "struct", "name": "vinops.peer.Lot", "optional": False,
          "fields": [_field(c) for c in COLUMNS]}  # fmt: skip
_VALUE_HEAD = b'{"schema":' + orjson.dumps(SCHEMA) + b',"payload":'
# A struct key: Debezium 3.6 reads a record_key as a Struct (a primitive key fails).
_KEY_SCHEMA = {
    "type": "struct",
    "name": "vinops.peer.LotKey",
    "optional": False,
    "fields": [{"field": "lot_external_id", "type": "string", "optional": False}],
}
_EPOCH_DAY = dt.date(1970, 1, 1)


def _json(value: Any) -> Any:
    """A typed value as JsonConverter reads it for its Connect type."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return int(aware.timestamp() * 1000)
    if isinstance(value, dt.date):
        return (value - _EPOCH_DAY).days
    if isinstance(value, Decimal):
        # A JSON number: JsonConverter reads it as a decimal exactly (big-decimal floats).
        return float(value)
    return value


def encode_key(lot: str) -> bytes:
    return orjson.dumps({"schema": _KEY_SCHEMA, "payload": {"lot_external_id": lot}})


def encode_value(row: dict[str, Any]) -> bytes:
    payload = {c: _json(row.get(c)) for c in COLUMNS}
    return _VALUE_HEAD + orjson.dumps(payload) + b"}"


def rows(path: Path) -> Iterator[dict[str, Any]]:
    """The file's good rows, typed, in file order (malformed rows carry no lot to upsert)."""
    for m in messages(path):
        if m.topic != ROW_TOPIC:
            continue
        headers = dict(m.headers)
        if headers.get(H_KIND, b"row").decode() != RowKind.ROW:
            continue
        try:
            mapped = map_row(headers[H_DIALECT].decode(), decode_value(m.value))
        except RowProblemError:
            continue
        row = dict(zip(LOT_COLUMNS, mapped.lot, strict=True))
        row.update(zip(VEHICLE_COLUMNS, mapped.vehicle[:4], strict=True))
        row["source_file_id"] = headers[H_FILE_ID].decode()
        row["source_row_no"] = int(headers[H_ROW_NO])
        yield row


def end_marker(file_id: str, partition: int) -> dict[str, Any]:
    return {
        "lot_external_id": f"{END_PREFIX}{file_id}:{partition}",
        "source_file_id": file_id,
        "source_updated_at": dt.datetime.now(dt.UTC),
    }


async def publish(bootstrap: str, topic: str, *paths: Path, partitions: int = 6) -> dict[str, Any]:
    """Send the files' rows in order, then one end marker per partition (with the last
    file's id); returns what was sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, compression_type="lz4",
                                linger_ms=20, max_batch_size=1 << 20, acks="all")  # fmt: skip
    await producer.start()
    sent = 0
    file_id = ""
    lots: set[str] = set()
    try:
        pending: list[Any] = []
        for row in (r for path in paths for r in rows(path)):
            file_id = row["source_file_id"]
            lots.add(row["lot_external_id"])
            key = encode_key(row["lot_external_id"])
            pending.append(await producer.send(topic, encode_value(row), key=key))
            sent += 1
            if len(pending) >= 10_000:
                await _settle(pending)
        for p in range(partitions):
            marker = end_marker(file_id or str(uuid.uuid4()), p)
            key = encode_key(marker["lot_external_id"])
            pending.append(await producer.send(topic, encode_value(marker), key=key, partition=p))
        await _settle(pending)
    finally:
        await producer.stop()
    return {"messages": sent, "lots": len(lots), "file_id": file_id, "markers": partitions}


async def _settle(pending: Sequence[Any]) -> None:
    for fut in pending:
        await fut
    if isinstance(pending, list):
        pending.clear()
