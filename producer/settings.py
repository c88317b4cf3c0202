"""Producer settings: one frozen object, loaded from an environment mapping (tests pass a dict)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from feed.contract import (
    DEFAULT_FILES_TOPIC,
    DEFAULT_MAX_ROW_BYTES,
    DEFAULT_ROW_TOPIC,
    MAX_ROW_BYTES_ENV,
)
from producer.errors import UsageError

COMPRESSIONS = ("lz4", "zstd", "gzip", "none")


@dataclass(frozen=True, slots=True)
class Settings:
    bootstrap_servers: str = ""
    topic: str = DEFAULT_ROW_TOPIC
    files_topic: str = DEFAULT_FILES_TOPIC
    partitions: int = 6
    replication_factor: int = 1
    # lz4 (fast mode) and zstd (level 1) cost about the same CPU here; zstd sends ~2x fewer
    # bytes, lz4 is what kcat uses by default (bench/producer-notes.md).
    compression: str = "lz4"
    linger_ms: int = 20
    max_batch_size: int = 512 * 1024
    # Batches awaited in bulk: bounds in-flight memory (window x max_batch_size).
    window: int = 48
    request_timeout_ms: int = 30_000
    # Rows longer than this are counted as oversized (published all the same): the consumer
    # keeps them in the raw layer only (feed.contract.DEFAULT_MAX_ROW_BYTES).
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> Settings:
        """Settings from ``VINOPS_*`` variables; non-None ``overrides`` (CLI options) win."""
        values: dict[str, Any] = {}
        for name, var, conv in (
            ("bootstrap_servers", "VINOPS_KAFKA_BOOTSTRAP", str),
            ("topic", "VINOPS_TOPIC", str),
            ("files_topic", "VINOPS_FILES_TOPIC", str),
            ("partitions", "VINOPS_PARTITIONS", int),
            ("replication_factor", "VINOPS_REPLICATION_FACTOR", int),
            ("compression", "VINOPS_PRODUCER_COMPRESSION", str),
            ("linger_ms", "VINOPS_PRODUCER_LINGER_MS", int),
            ("max_batch_size", "VINOPS_PRODUCER_BATCH_BYTES", int),
            ("max_row_bytes", MAX_ROW_BYTES_ENV, int),
        ):
            raw = env.get(var)
            if raw not in (None, ""):
                try:
                    values[name] = conv(raw)
                except ValueError:
                    raise UsageError(f"{var}={raw!r} is not a valid {conv.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values).validated()

    def validated(self) -> Settings:
        if self.partitions < 1:
            raise UsageError(f"--partitions must be >= 1, got {self.partitions}")
        if self.compression not in COMPRESSIONS:
            raise UsageError(f"compression {self.compression!r}: one of {', '.join(COMPRESSIONS)}")
        if self.max_row_bytes < 1:
            raise UsageError(f"{MAX_ROW_BYTES_ENV} must be >= 1, got {self.max_row_bytes}")
        if not self.topic or not self.files_topic:
            raise UsageError("topic names must not be empty")
        return self

    def require_bootstrap(self) -> str:
        if not self.bootstrap_servers:
            raise UsageError("no Kafka: pass --bootstrap-servers or set VINOPS_KAFKA_BOOTSTRAP")
        return self.bootstrap_servers
