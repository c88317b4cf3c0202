"""errors.translate_pg: classification by asyncpg class / SQLSTATE, never by message."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg.exceptions._base import DataError as ClientDataError

from consumer.errors import (
    ConfigError,
    DataError,
    IngestError,
    TransientError,
    translate_pg,
)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.SerializationError("x"),  # 40001
        asyncpg.exceptions.DeadlockDetectedError("x"),  # 40P01
        asyncpg.exceptions.AdminShutdownError("x"),  # 57P01
        asyncpg.exceptions.CrashShutdownError("x"),  # 57P02
        asyncpg.exceptions.CannotConnectNowError("x"),  # 57P03
        asyncpg.exceptions.TooManyConnectionsError("x"),  # 53300
        asyncpg.exceptions.ConnectionDoesNotExistError("x"),  # 08003
        asyncpg.exceptions.ConnectionFailureError("x"),  # 08006
        asyncpg.exceptions.LockNotAvailableError("x"),  # 55P03
        asyncpg.InterfaceError("connection is closed"),
        ConnectionResetError("reset"),
        OSError("network unreachable"),
        TimeoutError(),
    ],
)
def test_transient(exc: BaseException) -> None:
    result = translate_pg(exc)
    assert isinstance(result, TransientError)
    assert result.retriable
    assert result.__cause__ is exc


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.UniqueViolationError("x"),  # 23505
        asyncpg.exceptions.CheckViolationError("x"),  # 23514
        asyncpg.exceptions.ForeignKeyViolationError("x"),  # 23503
        asyncpg.exceptions.NumericValueOutOfRangeError("x"),  # 22003
        asyncpg.exceptions.StringDataRightTruncationError("x"),  # 22001
        asyncpg.exceptions.CharacterNotInRepertoireError("x"),  # 22021
        asyncpg.exceptions.CardinalityViolationError("x"),  # 21000: ON CONFLICT hit a row twice
        ClientDataError("invalid input for query argument $1"),
    ],
)
def test_data(exc: BaseException) -> None:
    result = translate_pg(exc)
    assert isinstance(result, DataError)
    assert not result.retriable


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.UndefinedTableError("x"),  # 42P01
        asyncpg.exceptions.InsufficientPrivilegeError("x"),  # 42501
        RuntimeError("bug"),
    ],
)
def test_other_errors_are_plain_ingest_errors(exc: BaseException) -> None:
    result = translate_pg(exc)
    assert type(result) is IngestError
    assert not result.retriable


def test_ingest_errors_pass_through_and_sqlstate_is_in_the_message() -> None:
    err = ConfigError("bad dsn")
    assert translate_pg(err) is err
    assert "[40P01]" in str(translate_pg(asyncpg.exceptions.DeadlockDetectedError("x")))
