"""The consumer's settings: one frozen object per process, loaded from a mapping (the env).

Tests pass a plain dict; the CLI passes ``os.environ`` plus its flags as overrides. Every
field names its variable (``feed.settings`` is the loader, shared with the producer); the
README's tables list exactly these, a test says so. DSNs and the Kafka password are
secrets: ``<NAME>_FILE`` works for them too, and ``repr`` / ``describe`` show them masked.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from consumer.config import membership
from consumer.config.history import HistorySettings
from consumer.config.pg_dsn import PgTls, mask_dsn
from feed.contract import (
    DEFAULT_DLQ_TOPIC,
    DEFAULT_FILES_TOPIC,
    DEFAULT_MAX_ROW_BYTES,
    DEFAULT_ROW_TOPIC,
    MAX_ROW_BYTES_ENV,
)
from feed.kafka_security import KafkaSecurity
from feed.settings import (
    SettingsError,
    boolean,
    describe,
    env,
    load,
    masked_repr,
    nested,
    secret,
)

__all__ = ["Database", "Settings", "SettingsError", "Storage", "mask_dsn", "read_dsn"]

# Measured on the 2-core machine (BENCHMARKS.md, "Batch size"): under a backlog 5,000-row
# batches ingest ~10% faster end to end than 1,000-row ones, and fill long before any age
# limit. Below capacity the age limit is the latency: at half the end-to-end rate a 100 ms
# limit gave p99 publish-to-commit 0.25 s where 250 ms gave 0.50-0.89 s, at the same
# end-to-end rate (3,076 against 3,078 rows/s).
DEFAULT_BATCH_SIZE = 5000
DEFAULT_BATCH_MAX_WAIT_MS = 100
DEFAULT_METRICS_PORT = 9108
# Kafka's client default since 3.0. With static membership it is how long a crashed member's
# partitions wait for its restart before the group gives them to the others.
DEFAULT_SESSION_TIMEOUT_MS = 45_000
_MIN_SESSION_TIMEOUT_MS = 6_000  # the broker's group.min.session.timeout.ms default


@dataclass(frozen=True, slots=True)
class Database:
    """The one-shot commands' connection (status, export-raw, migrate)."""

    dsn: str | None = field(default=None, metadata=secret("VINOPS_PG_DSN", mask_dsn))
    # `consumer migrate` prefers the owner login; the service never uses it.
    admin_dsn: str | None = field(default=None, metadata=secret("VINOPS_PG_ADMIN_DSN", mask_dsn))
    tls: PgTls = field(default_factory=PgTls, metadata=nested(PgTls))

    def __repr__(self) -> str:
        return masked_repr(self)


def read_dsn(command: str, environ: Mapping[str, str]) -> str | None:
    """VINOPS_PG_DSN (TLS settings applied) for a one-shot command, or None after one line
    on stderr saying what is missing or wrong."""
    try:
        db = load(Database, environ)
    except SettingsError as exc:
        print(f"consumer {command}: {exc}", file=sys.stderr)
        return None
    if not db.dsn:
        print(f"consumer {command}: VINOPS_PG_DSN is required", file=sys.stderr)
        return None
    return db.tls.apply(db.dsn)


def _positive(name: str, value: float | None) -> None:
    if value is not None and value <= 0:
        raise SettingsError(f"{name} must be > 0, got {value}")


@dataclass(frozen=True, slots=True)
class Storage:
    """The storage lifecycle: staging's rolling window (consumer/store/maintenance.py) and the
    database size gauge (consumer/service/upkeep.py). ``consumer maintain`` loads it alone."""

    # Staging rows are kept this many days (whole days dropped, never rows deleted).
    staging_retention_days: int = field(
        default=30, metadata=env("VINOPS_STAGING_RETENTION_DAYS", int)
    )
    # Seconds between two maintenance runs of the service (the first one at start).
    maintenance_interval_s: float = field(
        default=3600.0, metadata=env("VINOPS_MAINTENANCE_INTERVAL_S", float)
    )
    # Seconds between two readings of the database's size per schema (the gauge, the daily
    # sample behind `consumer status --storage`'s growth per day).
    storage_metrics_interval_s: float = field(
        default=300.0, metadata=env("VINOPS_STORAGE_METRICS_INTERVAL_S", float)
    )
    # The alert VinopsDatabaseGrowingFast fires above this many bytes a day (exported as a
    # gauge, so the rule needs no edit when it changes).
    growth_alert_bytes_per_day: int = field(
        default=10 * 1024**3, metadata=env("VINOPS_DB_GROWTH_ALERT_BYTES_PER_DAY", int)
    )

    def __post_init__(self) -> None:
        if self.staging_retention_days < 1:
            raise SettingsError(
                f"VINOPS_STAGING_RETENTION_DAYS must be >= 1, got {self.staging_retention_days}"
            )
        if self.growth_alert_bytes_per_day < 1:
            raise SettingsError(
                "VINOPS_DB_GROWTH_ALERT_BYTES_PER_DAY must be >= 1, "
                f"got {self.growth_alert_bytes_per_day}"
            )
        for name, value in (
            ("VINOPS_MAINTENANCE_INTERVAL_S", self.maintenance_interval_s),
            ("VINOPS_STORAGE_METRICS_INTERVAL_S", self.storage_metrics_interval_s),
        ):
            if not value > 0:  # also refuses NaN
                raise SettingsError(f"{name} must be > 0, got {value}")


@dataclass(frozen=True, slots=True)
class Settings:
    kafka_bootstrap: str = field(default="", metadata=env("VINOPS_KAFKA_BOOTSTRAP"))
    pg_dsn: str = field(default="", metadata=secret("VINOPS_PG_DSN", mask_dsn))
    topic: str = field(default=DEFAULT_ROW_TOPIC, metadata=env("VINOPS_TOPIC"))
    files_topic: str = field(default=DEFAULT_FILES_TOPIC, metadata=env("VINOPS_FILES_TOPIC"))
    dlq_topic: str = field(default=DEFAULT_DLQ_TOPIC, metadata=env("VINOPS_DLQ_TOPIC"))
    group_id: str = field(default="vinops-ingest", metadata=env("VINOPS_GROUP_ID"))
    # Static membership id (consumer.config.membership); "" = dynamic. The CLI defaults it per host.
    group_instance_id: str = field(
        default="", metadata=env("VINOPS_GROUP_INSTANCE_ID", membership.instance_id)
    )
    session_timeout_ms: int = field(
        default=DEFAULT_SESSION_TIMEOUT_MS, metadata=env("VINOPS_SESSION_TIMEOUT_MS", int)
    )
    consumer_name: str = field(default="vinops-consumer", metadata=env("VINOPS_CONSUMER_NAME"))
    batch_size: int = field(default=DEFAULT_BATCH_SIZE, metadata=env("VINOPS_BATCH_SIZE", int))
    batch_max_wait_ms: int = field(
        default=DEFAULT_BATCH_MAX_WAIT_MS, metadata=env("VINOPS_BATCH_MAX_WAIT_MS", int)
    )
    metrics_host: str = field(
        default="0.0.0.0",  # noqa: S104 - a container must expose /metrics
        metadata=env("VINOPS_METRICS_HOST"),
    )
    metrics_port: int = field(
        default=DEFAULT_METRICS_PORT, metadata=env("VINOPS_METRICS_PORT", int)
    )
    log_level: str = field(default="INFO", metadata=env("VINOPS_LOG_LEVEL"))
    log_format: str = field(default="json", metadata=env("VINOPS_LOG_FORMAT"))
    exit_when_idle_s: float | None = field(
        default=None, metadata=env("VINOPS_EXIT_WHEN_IDLE_S", float)
    )
    shutdown_timeout_s: float = field(
        default=30.0, metadata=env("VINOPS_SHUTDOWN_TIMEOUT_S", float)
    )
    # How long start-up waits for PostgreSQL and Kafka before exiting 5 (0: for ever).
    startup_timeout_s: float = field(default=120.0, metadata=env("VINOPS_STARTUP_TIMEOUT_S", float))
    pool_size: int = field(default=4, metadata=env("VINOPS_PG_POOL_SIZE", int))
    # Seconds between full garbage collections, automatic collection off (gc_policy.py);
    # 0 keeps Python's allocation-driven collector.
    gc_interval_s: float = field(default=10.0, metadata=env("VINOPS_GC_INTERVAL_S", float))
    retry_base_s: float = field(default=0.2, metadata=env("VINOPS_RETRY_BASE_S", float))
    retry_cap_s: float = field(default=10.0, metadata=env("VINOPS_RETRY_CAP_S", float))
    # Transient DB outages pause consumption for as long as they last; the group keeps the
    # member because aiokafka heartbeats from a background task, and getmany is still called.
    max_poll_interval_ms: int = field(
        default=600_000, metadata=env("VINOPS_MAX_POLL_INTERVAL_MS", int)
    )
    # False: every row is decoded, mapped and upserted, none skipped as an applied content
    # (a reference run, or an operator's check; the result must be the same, only slower).
    skip_known: bool = field(default=True, metadata=env("VINOPS_SKIP_KNOWN", boolean))
    # Row values longer than this are recorded as 'oversized' and not mapped (feed.contract).
    max_row_bytes: int = field(default=DEFAULT_MAX_ROW_BYTES, metadata=env(MAX_ROW_BYTES_ENV, int))
    pg_tls: PgTls = field(default_factory=PgTls, metadata=nested(PgTls))
    kafka_security: KafkaSecurity = field(
        default_factory=KafkaSecurity, metadata=nested(KafkaSecurity)
    )
    history: HistorySettings = field(
        default_factory=HistorySettings, metadata=nested(HistorySettings)
    )
    storage: Storage = field(default_factory=Storage, metadata=nested(Storage))

    def __post_init__(self) -> None:
        if not self.kafka_bootstrap:
            raise SettingsError("VINOPS_KAFKA_BOOTSTRAP is required")
        if not self.pg_dsn:
            raise SettingsError("VINOPS_PG_DSN is required")
        if self.batch_size < 1:
            raise SettingsError(f"batch size must be >= 1, got {self.batch_size}")
        if self.batch_max_wait_ms < 1:
            raise SettingsError(f"batch max wait must be >= 1 ms, got {self.batch_max_wait_ms}")
        if not 0 <= self.metrics_port <= 65535:
            raise SettingsError(f"metrics port out of range: {self.metrics_port}")
        if self.session_timeout_ms < _MIN_SESSION_TIMEOUT_MS:
            raise SettingsError(
                f"session timeout must be >= {_MIN_SESSION_TIMEOUT_MS} ms, "
                f"got {self.session_timeout_ms}"
            )
        if self.log_format not in {"json", "text"}:
            raise SettingsError(f"log format must be json or text, got {self.log_format!r}")
        if self.max_row_bytes < 1:
            raise SettingsError(f"{MAX_ROW_BYTES_ENV} must be >= 1, got {self.max_row_bytes}")
        if not self.startup_timeout_s >= 0:  # also refuses NaN
            raise SettingsError(
                f"VINOPS_STARTUP_TIMEOUT_S must be >= 0 (0: no limit), got {self.startup_timeout_s}"
            )
        if len({self.topic, self.files_topic, self.dlq_topic, self.history.changes_topic}) != 4:
            raise SettingsError("row, files, dead-letter and change topics must differ")
        if self.pool_size < 1:
            raise SettingsError(f"VINOPS_PG_POOL_SIZE must be >= 1, got {self.pool_size}")
        if not self.gc_interval_s >= 0:  # also refuses NaN
            raise SettingsError(
                f"VINOPS_GC_INTERVAL_S must be >= 0 (0: automatic), got {self.gc_interval_s}"
            )
        for name, value in (
            ("VINOPS_EXIT_WHEN_IDLE_S", self.exit_when_idle_s),
            ("VINOPS_SHUTDOWN_TIMEOUT_S", self.shutdown_timeout_s),
            ("VINOPS_RETRY_BASE_S", self.retry_base_s),
            ("VINOPS_RETRY_CAP_S", self.retry_cap_s),
            ("VINOPS_MAX_POLL_INTERVAL_MS", self.max_poll_interval_ms),
        ):
            _positive(name, value)

    @property
    def masked_dsn(self) -> str:
        return mask_dsn(self.pg_dsn)

    @property
    def connect_dsn(self) -> str:
        """The DSN to connect with: VINOPS_PG_SSLMODE / VINOPS_PG_SSLROOTCERT applied."""
        return self.pg_tls.apply(self.pg_dsn)

    def describe(self) -> dict[str, Any]:
        """Every setting, secrets masked: safe to log."""
        return describe(self)

    def __repr__(self) -> str:
        return masked_repr(self)

    __str__ = __repr__

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-None overrides applied (CLI flags win over the env)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        return load(cls, environ, overrides)
