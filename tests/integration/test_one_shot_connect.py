"""`consumer status` (also `--storage`), `export-raw`, `dlq` and `maintain` exit 5 when they
cannot connect (nothing listening, login refused), as `run` and `migrate` do, with one line
that hides the password."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit, urlunsplit

import pytest

from consumer.admin.cli import main

pytestmark = pytest.mark.integration

COMMANDS = (
    ["status"], ["status", "--json"], ["status", "--storage"], ["export-raw", "abc"], ["maintain"],
)  # fmt: skip


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_password(dsn: str, password: str) -> str:
    parts = urlsplit(dsn)
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:{password}@{host}:{parts.port}" if parts.port else f"{user}:{password}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.mark.parametrize("argv", [["dlq", "list"], ["dlq", "replay", "--dry-run"]])
def test_no_kafka_listening_exits_5(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    env = {"VINOPS_KAFKA_BOOTSTRAP": f"127.0.0.1:{closed_port()}"}
    assert main(argv, env=env | {"VINOPS_PG_DSN": "postgresql://u:pw@127.0.0.1:1/db"}) == 5
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("consumer dlq: cannot connect to Kafka at 127.0.0.1:")


def test_dlq_replay_with_kafka_but_no_postgresql_exits_5(
    kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "VINOPS_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "VINOPS_PG_DSN": f"postgresql://vinops_etl:s3cret-pw@127.0.0.1:{closed_port()}/vinops",
    }
    argv = ["dlq", "replay", "--dlq-topic", "vinops.test.no-such-dlq"]
    assert main(argv, env=env) == 5
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("consumer dlq: cannot connect to PostgreSQL")
    assert "s3cret-pw" not in line


@pytest.mark.parametrize("argv", COMMANDS)
def test_nothing_listening_exits_5(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    dsn = f"postgresql://vinops_etl:s3cret-pw@127.0.0.1:{closed_port()}/vinops"
    assert main(argv, env={"VINOPS_PG_DSN": dsn}) == 5
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"consumer {argv[0]}: cannot connect to PostgreSQL")
    assert "s3cret-pw" not in line
    assert "***" in line


@pytest.mark.parametrize("argv", COMMANDS)
def test_login_refused_exits_5(
    argv: list[str], pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"VINOPS_PG_DSN": with_password(pg_dsn, "wrong-pw-4711")}
    assert main(argv, env=env) == 5
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert "PostgreSQL refused the login (28P01" in line
    assert "wrong-pw-4711" not in line


def test_a_database_that_does_not_exist_is_configuration_exit_2(
    pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = urlunsplit(urlsplit(pg_dsn)._replace(path="/no_such_db_4711"))
    assert main(["status"], env={"VINOPS_PG_DSN": dsn}) == 2
    assert "no_such_db_4711" in capsys.readouterr().err
