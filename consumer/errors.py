"""The consumer's typed error tree; ``retriable`` decides retry (pause) versus bisect/DLQ.

PostgreSQL errors are classified by asyncpg class / SQLSTATE only, never by message text:
messages are localised and change between versions, SQLSTATEs do not.
"""

from __future__ import annotations

from typing import ClassVar

import asyncpg
from asyncpg.exceptions._base import DataError as _ClientDataError


class IngestError(Exception):
    retriable: ClassVar[bool] = False


class TransientError(IngestError):
    """Retry the same batch later: the data is fine, the connection or the moment is not."""

    retriable = True


class DataError(IngestError):
    """The database refuses a value of the batch; the service bisects to isolate the row."""

    retriable = False


class ConfigError(IngestError):
    retriable = False


# 08 connection exception, 57P01..03 shutdown/crash/cannot connect now, 40001 serialization
# failure, 40P01 deadlock, 53300 too many connections, 55P03 lock not available.
_TRANSIENT_STATES = frozenset({"57P01", "57P02", "57P03", "40001", "40P01", "53300", "55P03"})
_TRANSIENT_CLASSES = frozenset({"08"})
# 21 cardinality violation: 21000 is "ON CONFLICT DO UPDATE command cannot affect row a
# second time", i.e. two rows of the batch for one key; bisecting separates them.
_DATA_CLASSES = frozenset({"21", "22", "23"})


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None)
    return state if isinstance(state, str) and len(state) == 5 else None


def translate_pg(exc: BaseException) -> IngestError:
    """Map a database-side exception onto the tree; the original stays as ``__cause__``."""
    if isinstance(exc, IngestError):
        return exc
    text = f"{type(exc).__name__}: {exc}"
    state = _sqlstate(exc)
    if state is not None:
        if state in _TRANSIENT_STATES or state[:2] in _TRANSIENT_CLASSES:
            result: IngestError = TransientError(f"[{state}] {text}")
        elif state[:2] in _DATA_CLASSES:
            result = DataError(f"[{state}] {text}")
        else:
            result = IngestError(f"[{state}] {text}")
    elif isinstance(exc, _ClientDataError):
        # Client-side: a value asyncpg cannot encode for its column type (a bad row).
        result = DataError(text)
    elif isinstance(
        exc,
        OSError | ConnectionError | TimeoutError | asyncpg.InterfaceError,
    ):
        # A closed connection surfaces as InterfaceError ("connection is closed") or OSError.
        result = TransientError(text)
    else:
        result = IngestError(text)
    result.__cause__ = exc
    return result
