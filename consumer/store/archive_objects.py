"""Archive objects of the raw layer: their format, and where they are (a local directory or an
S3-compatible bucket, both through obstore).

One object per file, ``<file_id>.raw.gz``: gzip of a manifest line (JSON: format, file id, the
original file's sha256, row count, header, dialect, ...) then the file's rows exactly as
export-raw writes them. Self-describing: the object alone gives the file back. Deterministic
(gzip time 0, no clock in the manifest): archiving a file again writes the same bytes, so the
same SHA-256. Beside it, ``<file_id>.manifest.json``: the manifest and that SHA-256, for a
reader who has the bucket but not the database.
"""

from __future__ import annotations

import gzip
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import obstore
import orjson
from obstore.exceptions import BaseError as StoreError
from obstore.exceptions import NotFoundError
from obstore.store import LocalStore, S3Store

from consumer.config.archive import ArchiveSettings

FORMAT = "vinops-raw-archive/1"
OBJECT_SUFFIX = ".raw.gz"
MANIFEST_SUFFIX = ".manifest.json"


class ArchiveError(Exception):
    """An archive cannot be reached, or is not what it says; ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class Manifest:
    file_id: str
    sha256: str  # of the original CSV file
    rows: int  # physical rows in the object (the header line not counted)
    rows_published: int | None
    malformed_rows: int | None
    path: str | None
    bytes: int | None
    dialect: str | None
    encoding: str | None
    header: list[str]
    csv_sha256: str  # of the rows part, checked when the object is read
    format: str = FORMAT

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pack(manifest: Manifest, csv_bytes: bytes) -> bytes:
    line = orjson.dumps(manifest.as_dict()) + b"\n"
    return gzip.compress(line + csv_bytes, compresslevel=6, mtime=0)


def unpack(data: bytes) -> tuple[Manifest, bytes]:
    """The manifest and rows of an object, or ArchiveError (not ours, or damaged)."""
    try:
        plain = gzip.decompress(data)
        line, _, rows = plain.partition(b"\n")
        fields = orjson.loads(line)
        manifest = Manifest(**fields)
    except (OSError, EOFError, ValueError, TypeError) as exc:
        raise ArchiveError(f"not a raw archive object: {exc}") from None
    if manifest.format != FORMAT:
        raise ArchiveError(f"unknown archive format {manifest.format!r}")
    if hashlib.sha256(rows).hexdigest() != manifest.csv_sha256:
        raise ArchiveError(f"file {manifest.file_id}: rows do not match their manifest")
    return manifest, rows


def sidecar(manifest: Manifest, object_sha256: str, object_name: str) -> bytes:
    return orjson.dumps(
        {**manifest.as_dict(), "object": object_name, "object_sha256": object_sha256},
        option=orjson.OPT_INDENT_2,
    )


@dataclass(frozen=True, slots=True)
class Place:
    """A directory or bucket prefix; ``uri`` is its canonical spelling (file:// or s3://)."""

    uri: str
    store: Any  # obstore LocalStore | S3Store (untyped in mypy's eyes: a Rust class)

    def object_uri(self, file_id: uuid.UUID) -> str:
        return f"{self.uri}/{file_id}{OBJECT_SUFFIX}"


def place(uri: str, settings: ArchiveSettings) -> Place:
    """The archive location ``uri`` names: s3://bucket[/prefix], file:///dir or a path."""
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ArchiveError(f"{uri!r}: no bucket")
        prefix = parsed.path.strip("/")
        store = _s3(parsed.netloc, prefix, settings)
        return Place(f"s3://{parsed.netloc}" + (f"/{prefix}" if prefix else ""), store)
    if parsed.scheme in ("", "file"):
        directory = Path(unquote(parsed.path) if parsed.scheme else uri).resolve()
        try:
            store = LocalStore(directory, mkdir=True)
        except (StoreError, OSError) as exc:
            raise ArchiveError(f"{directory}: {exc}") from None
        return Place(directory.as_uri(), store)
    raise ArchiveError(f"{uri!r}: an archive is a directory or s3://bucket/prefix")


def _s3(bucket: str, prefix: str, settings: ArchiveSettings) -> Any:
    config: dict[str, Any] = {"region": settings.s3_region}
    if settings.s3_endpoint:
        config["endpoint"] = settings.s3_endpoint
    if settings.s3_access_key_id:
        config["access_key_id"] = settings.s3_access_key_id
        config["secret_access_key"] = settings.s3_secret_access_key
    return S3Store(
        bucket, prefix=prefix or None, client_options={"allow_http": settings.s3_allow_http},
        **config,
    )  # fmt: skip


def split_object_uri(uri: str, settings: ArchiveSettings) -> tuple[Place, str]:
    """The place and object name of an object's URI (as raw.csv_files.archive_uri holds it)."""
    head, _, name = uri.rpartition("/")
    if not name.endswith(OBJECT_SUFFIX):
        raise ArchiveError(f"{uri!r} is not a raw archive object")
    return place(head, settings), name


async def put(where: Place, name: str, data: bytes) -> None:
    try:
        await obstore.put_async(where.store, name, data)
    except (StoreError, OSError) as exc:
        raise ArchiveError(f"{where.uri}/{name}: cannot write: {_one_line(exc)}") from None


async def get(where: Place, name: str) -> bytes:
    try:
        result = await obstore.get_async(where.store, name)
        return bytes(await result.bytes_async())
    except (NotFoundError, FileNotFoundError):
        raise ArchiveError(f"{where.uri}/{name}: not found") from None
    except (StoreError, OSError) as exc:
        raise ArchiveError(f"{where.uri}/{name}: cannot read: {_one_line(exc)}") from None


async def read_verified(uri: str, sha256: str, settings: ArchiveSettings) -> tuple[Manifest, bytes]:
    """The object at ``uri``, checked against the SHA-256 recorded for it, unpacked."""
    where, name = split_object_uri(uri, settings)
    data = await get(where, name)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArchiveError(f"{uri}: its SHA-256 is not the one recorded")
    return unpack(data)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def described(settings: ArchiveSettings) -> Mapping[str, str]:
    """What a log line may say about the archive settings (the secret masked)."""
    return {"endpoint": settings.s3_endpoint or "(aws)", "region": settings.s3_region}
