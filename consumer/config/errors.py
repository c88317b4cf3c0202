"""The consumer's typed error tree; ``retriable`` decides retry (pause) versus bisect/DLQ.

PostgreSQL errors are classified by asyncpg class / SQLSTATE only, never by message text:
messages are localised and change between versions, SQLSTATEs do not. Kafka errors are
classified by aiokafka exception class, here too, and nowhere else.
"""

from __future__ import annotations

import ssl
from typing import ClassVar

import asyncpg
from aiokafka import errors as kafka_errors

from feed.kafka_security import LoginRefusedError


class IngestError(Exception):
    retriable: ClassVar[bool] = False


class TransientError(IngestError):
    """Retry the same batch later: the data is fine, the connection or the moment is not."""

    retriable = True


class ContentsPrunedError(TransientError):
    """A content the batch's look-up found was pruned (`consumer archive --prune`) before the
    batch's references were written: prepare the batch again, with a new look-up, so that the
    content is stored anew."""


class DataError(IngestError):
    """The database refuses a value of the batch; the service bisects to isolate the row."""

    retriable = False


class ConfigError(IngestError):
    retriable = False


class CannotConnectError(IngestError):
    """Start-up gave up: a dependency refused us (a login, a certificate) or stayed
    unreachable for the start-up timeout. The text is one line naming it; exit 5."""

    retriable = False
    exit_code: ClassVar[int] = 5


class LetterRefusedError(IngestError):
    """Kafka will never take this one record (too large, topic invalid or forbidden); other
    records, and the same record cut down, may still go. Retrying it would block forever."""

    retriable = False


# 08 connection exception, 57P01..03 shutdown/crash/cannot connect now, 40001 serialization
# failure, 40P01 deadlock, 53300 too many connections, 55P03 lock not available.
_TRANSIENT_STATES = frozenset({"57P01", "57P02", "57P03", "40001", "40P01", "53300", "55P03"})
_TRANSIENT_CLASSES = frozenset({"08"})
# 21 cardinality violation: 21000 is "ON CONFLICT DO UPDATE command cannot affect row a
# second time", i.e. two rows of the batch for one key; bisecting separates them.
_DATA_CLASSES = frozenset({"21", "22", "23"})


# The connection, not the statement, failed. A closed connection surfaces as InterfaceError
# ("connection is closed") or OSError; one terminated mid-query (pg_terminate_backend, found
# by the fault soak) can be left in a broken protocol state: InternalClientError "cannot
# switch to state ...; another operation is in progress". The pool replaces it; the retry
# gets another.
PG_CONNECTION_LOST: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.InternalClientError,
)  # fmt: skip
# What a database call may raise; ``translate_pg`` maps each onto the tree.
PG_ERRORS: tuple[type[BaseException], ...] = (asyncpg.PostgresError, *PG_CONNECTION_LOST)


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
    elif _is_client_data_error(exc):
        # Client-side: a value asyncpg cannot encode for its column type (a bad row).
        result = DataError(text)
    elif isinstance(exc, PG_CONNECTION_LOST):
        result = TransientError(text)
    else:
        result = IngestError(text)
    result.__cause__ = exc
    return result


# What the error of sending one record says, by aiokafka class (the most derived class listed
# decides). LetterRefusedError: refused for this record whatever the moment, for its size or
# the topic it is addressed to. TransientError: the broker is away or busy, the same record
# goes through later; UnknownTopicOrPartition is here too, as a topic being created, or
# metadata not yet refreshed, answers it for a while.
_KAFKA_VERDICTS: dict[type[BaseException], type[IngestError]] = {
    kafka_errors.MessageSizeTooLargeError: LetterRefusedError,  # max_request_size, or the broker
    kafka_errors.RecordTooLargeError: LetterRefusedError,
    kafka_errors.RecordListTooLargeError: LetterRefusedError,
    kafka_errors.CorruptRecordException: LetterRefusedError,
    kafka_errors.InvalidTopicError: LetterRefusedError,
    kafka_errors.TopicAuthorizationFailedError: LetterRefusedError,
    kafka_errors.ClusterAuthorizationFailedError: LetterRefusedError,
    kafka_errors.InvalidRequiredAcksError: LetterRefusedError,
    kafka_errors.UnsupportedForMessageFormatError: LetterRefusedError,
    kafka_errors.PolicyViolationError: LetterRefusedError,
    kafka_errors.InvalidTimestampError: LetterRefusedError,
    kafka_errors.KafkaConnectionError: TransientError,
    kafka_errors.KafkaTimeoutError: TransientError,
    kafka_errors.NodeNotReadyError: TransientError,
    kafka_errors.NoBrokersAvailable: TransientError,
    kafka_errors.RequestTimedOutError: TransientError,
    kafka_errors.NotLeaderForPartitionError: TransientError,
    kafka_errors.LeaderNotAvailableError: TransientError,
    kafka_errors.BrokerNotAvailableError: TransientError,
    kafka_errors.NotEnoughReplicasError: TransientError,
    kafka_errors.NotEnoughReplicasAfterAppendError: TransientError,
    kafka_errors.UnknownTopicOrPartitionError: TransientError,
    OSError: TransientError,
    TimeoutError: TransientError,
}


def translate_kafka(exc: BaseException) -> IngestError:
    """Map an error of sending one record onto the tree; the original stays as ``__cause__``.

    ``LetterRefusedError``: give up on this record as it is. ``TransientError``: the broker
    is away (or the error is retriable by Kafka's own class flag): retry later. Anything
    else is a plain, non-retriable ``IngestError``.
    """
    if isinstance(exc, IngestError):
        return exc
    text = f"{type(exc).__name__}: {exc}"
    verdict = next((_KAFKA_VERDICTS[c] for c in type(exc).__mro__ if c in _KAFKA_VERDICTS), None)
    if verdict is None:
        verdict = TransientError if getattr(type(exc), "retriable", False) else IngestError
    result = verdict(text)
    result.__cause__ = exc
    return result


# Retrying cannot help these at start-up. Refused: the server refused the login, the client
# refused the server's certificate (exit 5, as `consumer migrate`). Misconfigured: no such
# database, a malformed connection setting (exit 2).
_REFUSED: tuple[type[BaseException], ...] = (
    ssl.SSLCertVerificationError,
    asyncpg.InvalidAuthorizationSpecificationError,  # 28000, and 28P01 wrong password
    LoginRefusedError,  # Kafka refused the SASL login or its certificate is not trusted
)
_MISCONFIGURED: tuple[type[BaseException], ...] = (
    asyncpg.InvalidCatalogNameError,  # 3D000 no such database
    asyncpg.ClientConfigurationError,  # e.g. an sslrootcert that cannot be read
)


def refused_at_start(what: str, exc: BaseException, masked_dsn: str) -> IngestError | None:
    """The error to exit with when waiting for ``what`` cannot succeed, else None."""
    detail = " ".join(str(exc).split())[:300]
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return CannotConnectError(
            f"PostgreSQL refused the login ({exc.sqlstate}: {detail}); "
            f"check the user and password of VINOPS_PG_DSN ({masked_dsn})"
        )
    if isinstance(exc, LoginRefusedError):
        return CannotConnectError(detail)  # it names the broker and the login
    if isinstance(exc, _REFUSED):
        return CannotConnectError(f"{what}: {type(exc).__name__}: {detail}")
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return ConfigError(f"{detail} ({masked_dsn})")
    if isinstance(exc, _MISCONFIGURED):
        return ConfigError(f"{what}: {type(exc).__name__}: {detail}")
    return None


def _is_client_data_error(exc: BaseException) -> bool:
    """A value asyncpg cannot encode for its column type. asyncpg 0.32 raises the exported
    DataError (SQLSTATE 22000, handled above); older releases raised a client-side DataError
    it does not export: the InterfaceError that is also a ValueError, bar
    ClientConfigurationError. By class, never text; tests/integration/test_errors_asyncpg.py
    makes asyncpg raise one for real."""
    return (
        isinstance(exc, asyncpg.InterfaceError)
        and isinstance(exc, ValueError)
        and not isinstance(exc, asyncpg.ClientConfigurationError)
    )
