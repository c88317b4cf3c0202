"""errors.translate_pg / translate_kafka: classification by asyncpg class / SQLSTATE and by
aiokafka exception class, never by message."""

from __future__ import annotations

import ssl

import asyncpg
import pytest
from aiokafka import errors as kafka_errors

from consumer.config import errors
from consumer.config.errors import (
    ConfigError,
    DataError,
    IngestError,
    LetterRefusedError,
    TransientError,
    translate_kafka,
    translate_pg,
)
from feed.kafka_security import LoginRefusedError


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


MASKED = "postgresql://vinops_etl:***@db/vinops"


@pytest.mark.parametrize(
    ("exc", "kind", "line"),
    [
        (
            ssl.SSLCertVerificationError(
                1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
            ),
            errors.CannotConnectError,
            "PostgreSQL: SSLCertVerificationError: ",
        ),
        (
            asyncpg.InvalidPasswordError('password authentication failed for user "vinops_etl"'),
            errors.CannotConnectError,
            "PostgreSQL refused the login (28P01: password authentication failed",
        ),
        (
            LoginRefusedError("Kafka at k:9094 refused the SCRAM-SHA-512 login of 'vinops'"),
            errors.CannotConnectError,
            "Kafka at k:9094 refused the SCRAM-SHA-512 login",
        ),
        (
            asyncpg.InvalidCatalogNameError('database "nope" does not exist'),
            errors.ConfigError,
            'database "nope" does not exist (postgresql://vinops_etl:***@db/vinops)',
        ),
    ],
)
def test_refused_logins_certificates_and_databases_stop_the_start_up(
    exc: BaseException, kind: type[errors.IngestError], line: str
) -> None:
    refused = errors.refused_at_start("PostgreSQL", exc, MASKED)
    assert isinstance(refused, kind)
    assert str(refused).startswith(line)
    assert "\n" not in str(refused)
    exit_code = getattr(refused, "exit_code", 2)
    assert exit_code == (5 if kind is errors.CannotConnectError else 2)


@pytest.mark.parametrize(
    "exc", [ConnectionRefusedError(111, "refused"), asyncpg.CannotConnectNowError("starting up")]
)
def test_a_service_away_is_waited_for(exc: BaseException) -> None:
    assert errors.refused_at_start("PostgreSQL", exc, MASKED) is None
