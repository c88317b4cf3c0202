from __future__ import annotations

from pathlib import Path

import pytest

from consumer.admin.cli import _parser, main, settings_from
from consumer.admin.migrate_cli import resolve_dsn

ENV = {"VINOPS_KAFKA_BOOTSTRAP": "k:9092", "VINOPS_PG_DSN": "postgresql://u:pw@h/db"}


def test_flags_override_env() -> None:
    args = _parser().parse_args(
        ["run", "--topic", "t", "--group-id", "g", "--metrics-port", "0", "--exit-when-idle", "3",
         "--log-format", "text", "--batch-size", "10"]
    )  # fmt: skip
    s = settings_from(args, {**ENV, "VINOPS_TOPIC": "env-topic", "VINOPS_CONSUMER_NAME": "c1"})
    assert (s.topic, s.group_id, s.metrics_port, s.exit_when_idle_s) == ("t", "g", 0, 3.0)
    assert (s.log_format, s.batch_size, s.consumer_name) == ("text", 10, "c1")


def test_missing_settings_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"], env={}) == 2
    err = capsys.readouterr().err.strip()
    assert err == "consumer run: VINOPS_KAFKA_BOOTSTRAP is required"


def test_status_without_dsn_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"], env={}) == 2
    assert "VINOPS_PG_DSN" in capsys.readouterr().err


def test_migrate_is_wired() -> None:
    args = _parser().parse_args(["migrate"])
    assert args.command == "migrate"


def test_export_raw_without_dsn_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-raw", "abc"], env={}) == 2
    assert capsys.readouterr().err == "consumer export-raw: VINOPS_PG_DSN is required\n"


def test_migrate_reads_the_admin_dsn_file_and_the_tls_settings(tmp_path: Path) -> None:
    dsn = tmp_path / "admin-dsn"
    dsn.write_text("postgresql://a:pw@h/db\n")
    env = {"VINOPS_PG_ADMIN_DSN_FILE": str(dsn), "VINOPS_PG_SSLMODE": "verify-full"}
    args = _parser().parse_args(["migrate"])
    assert resolve_dsn(args, env) == "postgresql://a:pw@h/db?sslmode=verify-full"


def test_migrate_with_a_dsn_both_inline_and_in_a_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = tmp_path / "admin-dsn"
    dsn.write_text("postgresql://a:pw@h/db\n")
    env = {"VINOPS_PG_ADMIN_DSN_FILE": str(dsn), "VINOPS_PG_ADMIN_DSN": "postgresql://x@h/db"}
    assert main(["migrate"], env=env) == 2
    assert capsys.readouterr().err == (
        "consumer migrate: set VINOPS_PG_ADMIN_DSN or VINOPS_PG_ADMIN_DSN_FILE, not both\n"
    )


def test_startup_timeout_flag_wins_over_env() -> None:
    args = _parser().parse_args(["run", "--startup-timeout", "7.5"])
    assert settings_from(args, {**ENV, "VINOPS_STARTUP_TIMEOUT_S": "0"}).startup_timeout_s == 7.5
    assert settings_from(_parser().parse_args(["run"]), ENV).startup_timeout_s == 120.0


def test_a_usage_error_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--batch-size", "many"], env=ENV)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == "consumer run: argument --batch-size: invalid int value: 'many' (see --help)\n"
