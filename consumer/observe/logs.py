"""Structured logging: one line per event, JSON or text, extra fields carried as keys.

Call sites pass context with ``extra={"ctx": {...}}`` (batch size, partitions, offsets,
seconds); secrets never reach a log record (settings log their masked description).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

_CTX = "ctx"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = getattr(record, _CTX, None)
        if isinstance(ctx, dict):
            out.update(ctx)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ctx = getattr(record, _CTX, None)
        if isinstance(ctx, dict) and ctx:
            line += " " + " ".join(f"{k}={v}" for k, v in ctx.items())
        return line


def ctx(**fields: Any) -> dict[str, Any]:
    """``extra=`` argument for a log call: ``log.info("batch", extra=ctx(rows=5))``."""
    return {_CTX: fields}


def setup(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Imported here: streaks uses ctx() from this module.
    from consumer.observe.streaks import install  # noqa: PLC0415

    install(handler)
    root.setLevel(level.upper())
    # aiokafka logs every retry of a dead broker at ERROR; our own lines say what matters.
    logging.getLogger("aiokafka").setLevel(max(root.level, logging.WARNING))
