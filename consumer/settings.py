"""The consumer's settings: one frozen object per process, loaded from a mapping (the env).

Tests pass a plain dict; the CLI passes ``os.environ`` plus its flags as overrides. The
PostgreSQL DSN carries a password, so ``repr`` and ``describe`` only ever show it masked.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from consumer import membership
from feed.contract import (
    DEFAULT_DLQ_TOPIC,
    DEFAULT_FILES_TOPIC,
    DEFAULT_MAX_ROW_BYTES,
    DEFAULT_ROW_TOPIC,
    MAX_ROW_BYTES_ENV,
)

# Measured on the 2-core machine (BENCHMARKS.md, "Batch size"): under a backlog 5,000-row
# batches ingest ~10% faster end to end than 1,000-row ones; a 250 ms age limit halves the
# p99 publish-to-commit of 500 ms at a steady 2,000 rows/s (4.95 s against 9.5 s).
# Latency-sensitive deployments: --batch-size 1000 gave p99 2.0 s for that ~10%.
DEFAULT_BATCH_SIZE = 5000
DEFAULT_BATCH_MAX_WAIT_MS = 250
DEFAULT_METRICS_PORT = 9108
# Kafka's client default since 3.0. With static membership it is how long a crashed member's
# partitions wait for its restart before the group gives them to the others.
DEFAULT_SESSION_TIMEOUT_MS = 45_000
_MIN_SESSION_TIMEOUT_MS = 6_000  # the broker's group.min.session.timeout.ms default

_PASSWORD = re.compile(r"(?P<head>://[^:/@]*:)(?P<secret>[^@]*)(?P<tail>@)")
_PASSWORD_PARAM = re.compile(r"(?P<head>[?&]password=)(?P<secret>[^&]*)", re.IGNORECASE)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it (never its secret value)."""


def mask_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ``***``."""
    masked = _PASSWORD.sub(r"\g<head>***\g<tail>", dsn)
    return _PASSWORD_PARAM.sub(r"\g<head>***", masked)


def read_dsn(command: str, env: Mapping[str, str]) -> str | None:
    """VINOPS_PG_DSN for a one-shot command, or None after one line saying it is missing."""
    dsn = env.get("VINOPS_PG_DSN")
    if not dsn:
        print(f"consumer {command}: VINOPS_PG_DSN is required", file=sys.stderr)
    return dsn or None


@dataclass(frozen=True, slots=True)
class Settings:
    kafka_bootstrap: str
    pg_dsn: str
    topic: str = DEFAULT_ROW_TOPIC
    files_topic: str = DEFAULT_FILES_TOPIC
    dlq_topic: str = DEFAULT_DLQ_TOPIC
    group_id: str = "vinops-ingest"
    # Static membership id (consumer.membership); "" = dynamic. The CLI defaults it per host.
    group_instance_id: str = ""
    session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS
    consumer_name: str = "vinops-consumer"
    batch_size: int = DEFAULT_BATCH_SIZE
    batch_max_wait_ms: int = DEFAULT_BATCH_MAX_WAIT_MS
    metrics_host: str = "0.0.0.0"  # noqa: S104 - a container must expose /metrics
    metrics_port: int = DEFAULT_METRICS_PORT
    log_level: str = "INFO"
    log_format: str = "json"
    exit_when_idle_s: float | None = None
    shutdown_timeout_s: float = 30.0
    pool_size: int = 4
    retry_base_s: float = 0.2
    retry_cap_s: float = 10.0
    # Transient DB outages pause consumption for as long as they last; the group keeps the
    # member because aiokafka heartbeats from a background task, and getmany is still called.
    max_poll_interval_ms: int = 600_000
    # Row values longer than this are recorded as 'oversized' and not mapped (feed.contract).
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES

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
        if len({self.topic, self.files_topic, self.dlq_topic}) != 3:
            raise SettingsError("row, files and dead-letter topics must differ")

    @property
    def masked_dsn(self) -> str:
        return mask_dsn(self.pg_dsn)

    def describe(self) -> dict[str, Any]:
        """Every setting, secrets masked: safe to log."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["pg_dsn"] = self.masked_dsn
        return out

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"Settings({body})"

    __str__ = __repr__

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-None overrides applied (CLI flags win over the env)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> Settings:
        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else None

        def num(name: str, kind: type[int] | type[float]) -> Any:
            raw = get(name)
            if raw is None:
                return None
            try:
                return kind(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a number, got {raw!r}") from None

        values: dict[str, Any] = {
            "kafka_bootstrap": get("VINOPS_KAFKA_BOOTSTRAP") or "",
            "pg_dsn": get("VINOPS_PG_DSN") or "",
            "topic": get("VINOPS_TOPIC"),
            "files_topic": get("VINOPS_FILES_TOPIC"),
            "dlq_topic": get("VINOPS_DLQ_TOPIC"),
            "group_id": get("VINOPS_GROUP_ID"),
            "group_instance_id": membership.instance_id(get("VINOPS_GROUP_INSTANCE_ID")),
            "session_timeout_ms": num("VINOPS_SESSION_TIMEOUT_MS", int),
            "consumer_name": get("VINOPS_CONSUMER_NAME"),
            "batch_size": num("VINOPS_BATCH_SIZE", int),
            "batch_max_wait_ms": num("VINOPS_BATCH_MAX_WAIT_MS", int),
            "metrics_host": get("VINOPS_METRICS_HOST"),
            "metrics_port": num("VINOPS_METRICS_PORT", int),
            "log_level": get("VINOPS_LOG_LEVEL"),
            "log_format": get("VINOPS_LOG_FORMAT"),
            "shutdown_timeout_s": num("VINOPS_SHUTDOWN_TIMEOUT_S", float),
            "pool_size": num("VINOPS_PG_POOL_SIZE", int),
            "max_row_bytes": num(MAX_ROW_BYTES_ENV, int),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{k: v for k, v in values.items() if v is not None})
