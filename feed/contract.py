"""The wire contract: one definition, imported by producer and consumer alike.

Row topic: key = lot number (UTF-8); value = JSON object header -> original string; Kafka
headers carry where the row came from. A row that could not be parsed travels too, as a
``malformed`` message holding its raw text and the reason, so that nothing is lost.
Files topic (compacted, key = SHA-256): ``started`` then ``completed`` (or ``aborted``)
per publication.
"""

from __future__ import annotations

import binascii
import enum
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import orjson

from feed.dialects import OBSERVATION_CELLS

CONTRACT_VERSION = "1"
DEFAULT_ROW_TOPIC = "vinops.copart.lots"
DEFAULT_FILES_TOPIC = "vinops.files"
DEFAULT_DLQ_TOPIC = "vinops.copart.lots.dlq"
# A row message whose value is longer than this is 'oversized': published and kept whole in
# the raw layer, never mapped into the core tables. A real feed row is ~0.7 KB; the bound
# also keeps every ordinary dead letter well under Kafka's default 1 MB message limit.
MAX_ROW_BYTES_ENV = "VINOPS_MAX_ROW_BYTES"
DEFAULT_MAX_ROW_BYTES = 256 * 1024

# File ids are derived, not random, so that the same bytes always get the same id.
_FILE_NAMESPACE = uuid.UUID("6f1c1f0e-6a53-4d0b-9a0e-7c9f3b1a2d10")

H_FILE_ID = "vinops-file-id"
H_SHA256 = "vinops-sha256"
H_ROW_NO = "vinops-row-no"
H_DIALECT = "vinops-dialect"
H_CONTRACT = "vinops-contract"
H_KIND = "vinops-kind"
H_ENCODING = "vinops-encoding"
# Optional: the content digest of the value (hex), computed once by the producer while it
# holds the row. A consumer computes it itself when the header is absent.
H_DIGEST = "vinops-digest"
# The order the producer writes a row's headers in (RowMeta.kafka_headers(), then the digest).
# Readers may rely on it only as a fast path: headers in another order are just as valid.
ROW_HEADERS = (H_FILE_ID, H_SHA256, H_ROW_NO, H_DIALECT, H_KIND, H_ENCODING, H_CONTRACT, H_DIGEST)
ROW_NO_AT, DIGEST_AT = ROW_HEADERS.index(H_ROW_NO), ROW_HEADERS.index(H_DIGEST)
DIGEST_BYTES = 16

KafkaHeaders = Sequence[tuple[str, bytes]]


class ContractError(ValueError):
    """A message does not follow the wire contract; the text says what is missing.

    ``reason``: the short class a consumer records the message under (missing_headers,
    contract_version, bad_value). One exception class: dead letters name it as it is.
    """

    def __init__(self, message: str, reason: str = "bad_value") -> None:
        super().__init__(message)
        self.reason = reason


class RowKind(enum.StrEnum):
    ROW = "row"
    MALFORMED = "malformed"


def file_id_for(sha256_hex: str) -> uuid.UUID:
    return uuid.uuid5(_FILE_NAMESPACE, sha256_hex.lower())


def content_digest(content: bytes) -> bytes:
    """The raw layer's content address: the first 16 bytes of SHA-256 of the content's bytes
    (``content_of``: the value without its observation cells).

    SHA-256 because PostgreSQL computes it natively (migrations and checks need no
    extension) and OpenSSL's is hardware-accelerated; 128 bits keep accidental collisions
    out of reach (~1e-20 at a billion distinct rows) at half the index size.
    """
    return hashlib.sha256(content).digest()[:DIGEST_BYTES]


# The JSON member prefix of each observation cell, as the compact JSON of a row value spells
# it ('"Id":"'), per dialect.
_CELL_KEYS: dict[str, tuple[tuple[str, bytes], ...]] = {
    str(dialect): tuple((name, orjson.dumps(name) + b':"') for name in names)
    for dialect, names in OBSERVATION_CELLS.items()
}
_NO_CELLS: tuple[tuple[str, bytes], ...] = ()


def observation_cells(dialect: str) -> tuple[str, ...]:
    return tuple(name for name, _ in _CELL_KEYS.get(dialect, _NO_CELLS))


def _cut(value: bytes, key: bytes) -> tuple[bytes, str] | None:
    """``value`` without the member whose prefix is ``key``, and that member's string."""
    first = value[:1] == b"{" and value.startswith(key, 1)
    if first:
        start, opened = 1, 1 + len(key)
    else:
        # In compact JSON ',"' is always structural: a quote inside a string is escaped, and
        # after a closing quote comes ':' or ',' or '}', never a key's first character.
        start = value.find(b"," + key)
        if start < 0:
            return None
        opened = start + 1 + len(key)
    end = opened
    while True:  # the closing quote: one not escaped by an odd run of backslashes
        end = value.find(b'"', end)
        if end < 0:
            return None
        inside = value[opened:end]
        if (len(inside) - len(inside.rstrip(b"\\"))) % 2 == 0:
            break
        end += 1
    text = value[opened:end]
    try:
        cell = text.decode() if b"\\" not in text else orjson.loads(b'"' + text + b'"')
    except (UnicodeDecodeError, orjson.JSONDecodeError):
        return None
    if not isinstance(cell, str):
        return None
    after = value[end + 1 : end + 2]
    if first:  # the first member: its comma follows it
        if after == b",":
            return b"{" + value[end + 2 :], cell
        return (b"{" + value[end + 1 :], cell) if after == b"}" else None
    return (value[:start] + value[end + 1 :], cell) if after in (b",", b"}") else None


def content_of(value: bytes, dialect: str) -> tuple[bytes, tuple[str, ...] | None]:
    """A row value's content (the bytes its identity is computed from) and the observation
    cells cut out of it, in the dialect's order; None when nothing was cut.

    The rule is on bytes, so producer and consumer apply it without decoding: each cell is
    cut when it is a string member of the compact JSON object (as ``encode_row`` writes it);
    when any is not found, nothing is cut and the whole value is the content. Equal contents
    are then equal values but for the observation cells, whatever wrote them.
    """
    keys = _CELL_KEYS.get(dialect, _NO_CELLS)
    if not keys:
        return value, None
    cells: list[str] = []
    content = value
    for _, key in keys:
        found = _cut(content, key)
        if found is None:
            return value, None
        content = found[0]
        cells.append(found[1])
    return content, tuple(cells)


def row_digest(value: bytes, dialect: str) -> tuple[bytes, tuple[str, ...] | None]:
    """``content_digest`` of a row value's content, with the cells ``content_of`` cut."""
    content, cells = content_of(value, dialect)
    return content_digest(content), cells


def digest_header(value: bytes, dialect: str = "") -> tuple[str, bytes]:
    """The header a producer sends: the digest of the value's content (``row_digest``); a
    malformed row's value (no dialect given) is its own content."""
    return H_DIGEST, row_digest(value, dialect)[0].hex().encode()


def parse_digest(text: bytes | None) -> bytes | None:
    """The digest a ``vinops-digest`` header carries (hex), or None when it is not one."""
    if text is None or len(text) != 2 * DIGEST_BYTES:
        return None
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        return None


def header_digest(headers: KafkaHeaders) -> bytes | None:
    """The content digest a row message announces, looked for where the producer puts it
    first (ROW_HEADERS order), then anywhere."""
    if len(headers) > DIGEST_AT and headers[DIGEST_AT][0] == H_DIGEST:
        return parse_digest(headers[DIGEST_AT][1])
    return parse_digest(next((value for name, value in headers if name == H_DIGEST), None))


def header_map(headers: KafkaHeaders | None) -> dict[str, bytes]:
    """A message's headers by name (a repeated name: the last one). Built once per message
    and passed on: every check and reader below takes the mapping."""
    return dict(headers or ())


def file_position(found: Mapping[str, bytes]) -> tuple[uuid.UUID | None, int | None]:
    """The file id and row number the headers carry, each None when absent or unreadable
    (what a rejected message is keyed by, whatever else is wrong with it)."""
    try:
        return uuid.UUID(found[H_FILE_ID].decode()), int(found[H_ROW_NO])
    except (KeyError, ValueError, UnicodeDecodeError):
        return None, None


def malformed_key(sha256_hex: str, row_no: int) -> str:
    """Key of a row without a usable lot number: unique, so it is never compacted away."""
    return f"malformed:{sha256_hex[:16]}:{row_no}"


@dataclass(frozen=True, slots=True)
class RowMeta:
    file_id: uuid.UUID
    sha256: str
    row_no: int  # 1-based physical record number after the header
    dialect: str
    kind: RowKind = RowKind.ROW
    encoding: str = "utf-8"
    contract: str = CONTRACT_VERSION

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        return [
            (H_FILE_ID, str(self.file_id).encode()),
            (H_SHA256, self.sha256.encode()),
            (H_ROW_NO, str(self.row_no).encode()),
            (H_DIALECT, self.dialect.encode()),
            (H_KIND, self.kind.value.encode()),
            (H_ENCODING, self.encoding.encode()),
            (H_CONTRACT, self.contract.encode()),
        ]

    @classmethod
    def from_kafka_headers(cls, headers: KafkaHeaders | None) -> RowMeta:
        return cls.from_header_map(header_map(headers))

    @classmethod
    def from_header_map(cls, found: Mapping[str, bytes]) -> RowMeta:
        """The row's metadata, or the ``ContractError`` whose ``reason`` classes the message:
        headers missing, another contract version, a value that does not parse."""
        missing = [h for h in (H_FILE_ID, H_SHA256, H_ROW_NO, H_DIALECT) if h not in found]
        if missing:
            raise ContractError(f"missing header(s): {', '.join(missing)}", "missing_headers")
        contract = found.get(H_CONTRACT, b"").decode("utf-8", "replace")
        if contract != CONTRACT_VERSION:
            raise ContractError(
                f"contract version {contract!r}, expected {CONTRACT_VERSION!r}", "contract_version"
            )
        try:
            return cls(
                file_id=uuid.UUID(found[H_FILE_ID].decode()),
                sha256=found[H_SHA256].decode(),
                row_no=int(found[H_ROW_NO]),
                dialect=found[H_DIALECT].decode(),
                kind=RowKind(found.get(H_KIND, b"row").decode()),
                encoding=found.get(H_ENCODING, b"utf-8").decode(),
                contract=contract,
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise ContractError(f"bad header value: {exc}") from exc


def encode_row(values: Mapping[str, str]) -> bytes:
    return orjson.dumps(values)


def encode_malformed(raw_text: str, error: str, fields: Sequence[str]) -> bytes:
    return orjson.dumps({"raw": raw_text, "error": error, "fields": list(fields)})


def decode_value(value: bytes | None) -> dict[str, Any]:
    """The JSON object of a message value, or ``ContractError``."""
    if value is None:
        raise ContractError("message has no value")
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise ContractError(f"value is not JSON: {exc}") from exc
    if not isinstance(decoded, dict):
        raise ContractError(f"value is a JSON {type(decoded).__name__}, expected an object")
    return decoded


@dataclass(frozen=True, slots=True)
class FileStarted:
    file_id: str
    sha256: str
    path: str
    bytes: int
    headers: list[str]
    dialect: str
    encoding: str
    started_at: str  # ISO 8601 UTC
    event: str = "started"
    contract: str = CONTRACT_VERSION
    # The file lists every lot for sale (`producer publish --full-snapshot`): once its run
    # completes, lots it does not list are marked removed. Absent in older records: a partial
    # file, which never removes anything.
    full_snapshot: bool = False


@dataclass(frozen=True, slots=True)
class FileCompleted:
    file_id: str
    sha256: str
    rows: int  # rows published, malformed ones included
    malformed: int
    seconds: float
    completed_at: str  # ISO 8601 UTC
    encoding: str = "utf-8"
    event: str = "completed"
    contract: str = CONTRACT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FileAborted:
    """The producer gave up on a publication (interrupted, delivery failed): its run failed."""

    file_id: str
    sha256: str
    rows: int  # rows confirmed before the abort
    reason: str
    aborted_at: str  # ISO 8601 UTC
    event: str = "aborted"
    contract: str = CONTRACT_VERSION


FileEvent = FileStarted | FileCompleted | FileAborted


def encode_file_event(event: FileEvent) -> bytes:
    return orjson.dumps(asdict(event))


# The JSON types each annotation of a file event accepts (bool is an int to Python: refused).
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "float": (int, float), "list[str]": (list,),
    "dict[str, Any]": (dict,), "bool": (bool,),
}  # fmt: skip


def _check_types(cls: type[FileEvent], data: Mapping[str, Any]) -> None:
    """A field of the wrong JSON type is a contract error here, not a TypeError later."""
    for f in fields(cls):
        if f.name not in data:
            continue
        value: Any = data[f.name]
        wanted = _JSON_TYPES[str(f.type)]
        if (isinstance(value, bool) and f.type != "bool") or not isinstance(value, wanted):
            raise ContractError(f"file event field {f.name!r} is not a {f.type}")
        if f.type == "list[str]" and not all(isinstance(v, str) for v in data[f.name]):
            raise ContractError(f"file event field {f.name!r} is not a {f.type}")


def decode_file_event(value: bytes | None) -> FileEvent:
    return file_event_of(decode_value(value))


def file_event_of(data: Mapping[str, Any]) -> FileEvent:
    """The file event a decoded message value describes, or ``ContractError``."""
    kind = data.get("event")
    cls: type[FileEvent]
    if kind == "started":
        cls = FileStarted
    elif kind == "completed":
        cls = FileCompleted
    elif kind == "aborted":
        cls = FileAborted
    else:
        raise ContractError(f"unknown file event {kind!r}")
    _check_types(cls, data)
    try:
        return cls(**data)
    except TypeError as exc:
        raise ContractError(f"file event fields: {exc}") from exc
