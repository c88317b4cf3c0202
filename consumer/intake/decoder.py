"""Where fetched records become typed messages: each record is decoded exactly once, here.

A row in the producer's header order is checked against its file's template (its headers but
the row number and digest, checked once and kept), so a row costs a few tuple look-ups and
the digest of its value. The templates outlive a batch: a file's rows span many. Anything
unusual takes the slow path, which says what is wrong (``ContractError.reason``).

The digest is always computed from the value (``feed.contract.row_digest``); the producer's
``vinops-digest`` header is only compared with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Final

from consumer.intake.messages import BadMessage, FileEventMessage, Message, RowMessage
from consumer.intake.records import Inbound, to_inbound
from feed.contract import (
    CONTRACT_VERSION,
    DIGEST_AT,
    H_DIGEST,
    H_ROW_NO,
    H_SHA256,
    ROW_HEADERS,
    ROW_NO_AT,
    ContractError,
    RowKind,
    RowMeta,
    content_digest,
    decode_value,
    file_event_of,
    file_position,
    header_digest,
    header_map,
    parse_digest,
    row_digest,
)

Headers = tuple[tuple[str, bytes], ...]
# Files whose templates are kept; past that the cache starts again (a file's rows come
# together, so a few recent files are all that is ever hit).
_TEMPLATES_KEPT: Final = 1024
_new_row = tuple.__new__  # RowMessage's own constructor is a Python function


def one_line(error: BaseException | str) -> str:
    return " ".join(str(error).split())[:1000]


def lot_of_key(key: bytes | None) -> str | None:
    """The lot number as mapping derives it from the key: NUL dropped (text cannot hold it),
    then stripped."""
    text = key.decode("utf-8", "replace") if key else ""
    return text.replace("\x00", "").strip() or None


def whole_digest(record: Inbound) -> bytes:
    """The digest of a value kept whole (a malformed or refused row, a value the mapping
    refused, one not written as compact JSON): nothing is cut from it."""
    return content_digest(record.value or b"")


class Decoder:
    """One per consumer process (and per rebuild): ``decode`` for every record."""

    def __init__(self, row_topic: str, files_topic: str) -> None:
        self.row_topic = row_topic
        self.files_topic = files_topic
        self._templates: dict[Headers, RowMeta | None] = {}

    def decode(self, record: Inbound) -> Message:
        topic = record.topic
        if topic == self.row_topic:
            return self._row(record)
        if topic == self.files_topic:
            return self._file_event(record)
        return _bad(record, ContractError(f"unexpected topic {topic!r}"), trusted=True)

    def decode_all(self, records: Iterable[Inbound]) -> list[Message]:
        decode = self.decode
        return [decode(r) for r in records]

    def decode_fetched(self, records: Iterable[Any]) -> list[Message]:
        """aiokafka's ConsumerRecords, where they enter the consumer."""
        decode = self.decode
        return [decode(to_inbound(r)) for r in records]

    def _row(self, record: Inbound) -> Message:
        h = record.headers
        if (
            len(h) == len(ROW_HEADERS)
            and h[ROW_NO_AT][0] == H_ROW_NO
            and h[DIGEST_AT][0] == H_DIGEST
        ):
            key = (h[0], h[1], h[3], h[4], h[5], h[6])
            file = self._templates[key] if key in self._templates else self._template(key, h)
            if file is not None:
                try:
                    row_no = int(h[ROW_NO_AT][1])
                except ValueError:
                    pass  # the slow path says what is wrong
                else:
                    return _row_of(record, file, row_no, parse_digest(h[DIGEST_AT][1]))
        try:
            meta = RowMeta.from_header_map(header_map(h))
        except ContractError as exc:
            # Headers that are missing or of another contract may repeat another message's
            # place: such a rejection is keyed by its place in Kafka, so it is never lost.
            return _bad(record, exc, trusted=False)
        return _row_of(record, meta, meta.row_no, header_digest(h))

    def _template(self, key: Headers, headers: Headers) -> RowMeta | None:
        if len(self._templates) >= _TEMPLATES_KEPT:
            self._templates.clear()
        meta: RowMeta | None = None
        if tuple(name for name, _ in headers) == ROW_HEADERS:
            try:
                meta = RowMeta.from_header_map(dict(headers))
            except ContractError:
                meta = None
        self._templates[key] = meta
        return meta

    def _file_event(self, record: Inbound) -> Message:
        try:
            data = decode_value(record.value)
        except ContractError as exc:
            return _bad(record, exc, trusted=True, reason="bad_json")
        try:
            event = file_event_of(data)
            file_id = uuid.UUID(event.file_id)
        except (ContractError, ValueError) as exc:
            return _bad(record, exc, trusted=True, reason="bad_value")
        if event.contract != CONTRACT_VERSION:
            error = ContractError(f"contract {event.contract}", "contract_version")
            return _bad(record, error, trusted=True)
        return FileEventMessage(record, file_id, event)


def _row_of(record: Inbound, file: RowMeta, row_no: int, announced: bytes | None) -> RowMessage:
    """The row message; its digest always from the value (the header is only compared)."""
    value = record.value
    observed: tuple[str, ...] | None = None
    if value is None:
        digest = content_digest(b"")
    elif file.kind is RowKind.ROW:
        digest, observed = row_digest(value, file.dialect)
    else:
        digest = content_digest(value)  # a malformed row's value is its own content
    lot = lot_of_key(record.key)
    disagreed = announced is not None and announced != digest
    return _new_row(RowMessage, (record, file, row_no, digest, observed, lot, disagreed))


def _bad(
    record: Inbound, error: BaseException, *, trusted: bool, reason: str | None = None
) -> BadMessage:
    if reason is None:
        reason = error.reason if isinstance(error, ContractError) else "bad_value"
    file_id = row_no = sha256 = None
    if trusted:
        found = header_map(record.headers)
        file_id, row_no = file_position(found)
        sha = found.get(H_SHA256)
        sha256 = sha.decode("utf-8", "replace") if sha is not None else None
    if file_id is None or row_no is None:
        file_id = row_no = None
    return BadMessage(record, reason, type(error).__name__, one_line(error), file_id, row_no,
                      sha256)  # fmt: skip
