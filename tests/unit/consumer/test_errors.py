"""errors.translate_pg / translate_kafka: classification by asyncpg class / SQLSTATE and by
aiokafka exception class, never by message."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka import errors as kafka_errors
from asyncpg.exceptions._base import DataError as ClientDataError

from consumer.errors import (
    ConfigError,
    DataError,
    IngestError,
    LetterRefusedError,
    TransientError,
    translate_kafka,
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
        # A connection terminated mid-query (found by the fault soak: it crashed the service).
        asyncpg.InternalClientError("cannot switch to state 12; another operation is in progress"),
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


# ---- Kafka: translate_kafka, by aiokafka exception class ------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        kafka_errors.MessageSizeTooLargeError("The message is 3001429 bytes"),
        kafka_errors.RecordTooLargeError("x"),
        kafka_errors.RecordListTooLargeError("x"),
        kafka_errors.CorruptRecordException("x"),
        kafka_errors.InvalidTopicError("x"),
        kafka_errors.TopicAuthorizationFailedError("x"),
        kafka_errors.ClusterAuthorizationFailedError("x"),
        kafka_errors.PolicyViolationError("x"),
        kafka_errors.InvalidTimestampError("x"),
    ],
)
def test_a_record_kafka_refuses_is_permanent_for_that_letter(exc: BaseException) -> None:
    result = translate_kafka(exc)
    assert isinstance(result, LetterRefusedError)
    assert not result.retriable
    assert result.__cause__ is exc
    assert type(exc).__name__ in str(result)


@pytest.mark.parametrize(
    "exc",
    [
        kafka_errors.KafkaConnectionError("x"),
        kafka_errors.KafkaTimeoutError(),
        kafka_errors.NodeNotReadyError("x"),
        kafka_errors.NoBrokersAvailable(),
        kafka_errors.RequestTimedOutError("x"),
        kafka_errors.NotLeaderForPartitionError("x"),
        kafka_errors.LeaderNotAvailableError("x"),
        kafka_errors.BrokerNotAvailableError("x"),
        kafka_errors.NotEnoughReplicasError("x"),
        kafka_errors.UnknownTopicOrPartitionError("x"),
        kafka_errors.GroupCoordinatorNotAvailableError("x"),  # retriable by its class flag
        ConnectionRefusedError("refused"),
        TimeoutError(),
    ],
)
def test_a_broker_that_is_away_is_transient(exc: BaseException) -> None:
    result = translate_kafka(exc)
    assert isinstance(result, TransientError)
    assert result.retriable
    assert result.__cause__ is exc


@pytest.mark.parametrize(
    "exc", [kafka_errors.ProducerFenced(), kafka_errors.IllegalStateError(), RuntimeError("bug")]
)
def test_other_kafka_errors_are_plain_ingest_errors(exc: BaseException) -> None:
    result = translate_kafka(exc)
    assert type(result) is IngestError
    assert not result.retriable


def test_kafka_translation_passes_ingest_errors_through() -> None:
    err = TransientError("already classified")
    assert translate_kafka(err) is err
