"""Producer settings: one frozen object, loaded from an environment mapping (tests pass a dict).

The loader is ``feed.settings`` (shared with the consumer): every field names its variable,
the README's table lists exactly these. A bad value is a usage error (exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from feed.contract import (
    DEFAULT_FILES_TOPIC,
    DEFAULT_MAX_ROW_BYTES,
    DEFAULT_ROW_TOPIC,
    MAX_ROW_BYTES_ENV,
)
from feed.kafka_security import KafkaSecurity
from feed.settings import SettingsError, env, load, masked_repr, nested
from producer.errors import UsageError

COMPRESSIONS = ("lz4", "zstd", "gzip", "none")


@dataclass(frozen=True, slots=True)
class Settings:
    bootstrap_servers: str = field(default="", metadata=env("VINOPS_KAFKA_BOOTSTRAP"))
    topic: str = field(default=DEFAULT_ROW_TOPIC, metadata=env("VINOPS_TOPIC"))
    files_topic: str = field(default=DEFAULT_FILES_TOPIC, metadata=env("VINOPS_FILES_TOPIC"))
    partitions: int = field(default=6, metadata=env("VINOPS_PARTITIONS", int))
    replication_factor: int = field(default=1, metadata=env("VINOPS_REPLICATION_FACTOR", int))
    # lz4 (fast mode) and zstd (level 1) cost about the same CPU here; zstd sends ~2x fewer
    # bytes, lz4 is what kcat uses by default (bench/producer-notes.md).
    compression: str = field(default="lz4", metadata=env("VINOPS_PRODUCER_COMPRESSION"))
    linger_ms: int = field(default=20, metadata=env("VINOPS_PRODUCER_LINGER_MS", int))
    max_batch_size: int = field(
        default=512 * 1024, metadata=env("VINOPS_PRODUCER_BATCH_BYTES", int)
    )
    # Batches awaited in bulk: bounds in-flight memory (window x max_batch_size).
    window: int = field(default=48, metadata=env("VINOPS_PRODUCER_WINDOW", int))
    request_timeout_ms: int = field(
        default=30_000, metadata=env("VINOPS_PRODUCER_REQUEST_TIMEOUT_MS", int)
    )
    # Rows longer than this are counted as oversized (published all the same): the consumer
    # keeps them in the raw layer only (feed.contract.DEFAULT_MAX_ROW_BYTES).
    max_row_bytes: int = field(default=DEFAULT_MAX_ROW_BYTES, metadata=env(MAX_ROW_BYTES_ENV, int))
    kafka_security: KafkaSecurity = field(
        default_factory=KafkaSecurity, metadata=nested(KafkaSecurity)
    )

    def __repr__(self) -> str:
        return masked_repr(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Settings from ``VINOPS_*`` variables; non-None ``overrides`` (CLI options) win."""
        try:
            settings = load(cls, environ, overrides)
        except SettingsError as exc:
            raise UsageError(str(exc)) from None
        return settings.validated()

    def validated(self) -> Settings:
        if self.partitions < 1:
            raise UsageError(f"--partitions must be >= 1, got {self.partitions}")
        if self.replication_factor < 1:
            raise UsageError(
                f"VINOPS_REPLICATION_FACTOR must be >= 1, got {self.replication_factor}"
            )
        if self.compression not in COMPRESSIONS:
            raise UsageError(f"compression {self.compression!r}: one of {', '.join(COMPRESSIONS)}")
        for name, value in (
            ("VINOPS_PRODUCER_BATCH_BYTES", self.max_batch_size),
            ("VINOPS_PRODUCER_WINDOW", self.window),
            ("VINOPS_PRODUCER_REQUEST_TIMEOUT_MS", self.request_timeout_ms),
            (MAX_ROW_BYTES_ENV, self.max_row_bytes),
        ):
            if value < 1:
                raise UsageError(f"{name} must be >= 1, got {value}")
        if self.linger_ms < 0:
            raise UsageError(f"VINOPS_PRODUCER_LINGER_MS must be >= 0, got {self.linger_ms}")
        if not self.topic or not self.files_topic:
            raise UsageError("topic names must not be empty")
        return self

    def require_bootstrap(self) -> str:
        if not self.bootstrap_servers:
            raise UsageError("no Kafka: pass --bootstrap-servers or set VINOPS_KAFKA_BOOTSTRAP")
        return self.bootstrap_servers
