from __future__ import annotations

from pathlib import Path

import pytest

from consumer.config.settings import Settings, SettingsError, mask_dsn, read_dsn

ENV = {
    "VINOPS_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "VINOPS_PG_DSN": "postgresql://vinops_etl:s3cr3t-pw@db:5432/vinops",
}


def test_defaults_from_minimal_env() -> None:
    s = Settings.from_env(ENV)
    assert s.topic == "vinops.copart.lots"
    assert s.files_topic == "vinops.files"
    assert s.dlq_topic == "vinops.copart.lots.dlq"
    assert s.group_id == "vinops-ingest"
    assert s.metrics_port == 9108
    assert s.batch_size >= 1
    assert s.batch_max_wait_ms >= 1
    assert s.exit_when_idle_s is None
    assert s.max_row_bytes == 256 * 1024
    assert s.storage.staging_retention_days == 30
    assert s.storage.maintenance_interval_s == 3600
    assert s.storage.storage_metrics_interval_s == 300
    assert s.storage.growth_alert_bytes_per_day == 10 * 1024**3


def test_env_values_are_parsed() -> None:
    env = {
        **ENV,
        "VINOPS_TOPIC": "t.rows",
        "VINOPS_FILES_TOPIC": "t.files",
        "VINOPS_DLQ_TOPIC": "t.dlq",
        "VINOPS_GROUP_ID": "g1",
        "VINOPS_BATCH_SIZE": "123",
        "VINOPS_BATCH_MAX_WAIT_MS": "45",
        "VINOPS_METRICS_HOST": "127.0.0.1",
        "VINOPS_METRICS_PORT": "0",
        "VINOPS_LOG_FORMAT": "text",
        "VINOPS_MAX_ROW_BYTES": "4096",
    }
    s = Settings.from_env(env)
    assert (s.topic, s.files_topic, s.dlq_topic, s.group_id) == ("t.rows", "t.files", "t.dlq", "g1")
    assert (s.batch_size, s.batch_max_wait_ms, s.metrics_port) == (123, 45, 0)
    assert (s.metrics_host, s.log_format) == ("127.0.0.1", "text")
    assert s.max_row_bytes == 4096


def test_overrides_win_and_none_is_ignored() -> None:
    s = Settings.from_env({**ENV, "VINOPS_GROUP_ID": "env"}, group_id="flag", topic=None)
    assert s.group_id == "flag"
    assert s.topic == "vinops.copart.lots"


def test_password_is_masked_everywhere() -> None:
    s = Settings.from_env(ENV)
    assert "s3cr3t-pw" not in repr(s)
    assert "s3cr3t-pw" not in str(s)
    assert "s3cr3t-pw" not in str(s.describe())
    assert s.masked_dsn == "postgresql://vinops_etl:***@db:5432/vinops"
    assert s.pg_dsn == ENV["VINOPS_PG_DSN"]  # the real value is still there to connect with


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        ("postgresql://u:p@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://h/db?user=u&password=pw&x=1", "postgresql://h/db?user=u&password=***&x=1"),
    ],
)
def test_mask_dsn(dsn: str, masked: str) -> None:
    assert mask_dsn(dsn) == masked


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"VINOPS_PG_DSN": "postgresql://h/db"}, "VINOPS_KAFKA_BOOTSTRAP"),
        ({"VINOPS_KAFKA_BOOTSTRAP": "k:1"}, "VINOPS_PG_DSN"),
        ({**ENV, "VINOPS_BATCH_SIZE": "many"}, "VINOPS_BATCH_SIZE"),
        ({**ENV, "VINOPS_BATCH_SIZE": "0"}, "batch size"),
        ({**ENV, "VINOPS_METRICS_PORT": "70000"}, "metrics port"),
        ({**ENV, "VINOPS_LOG_FORMAT": "xml"}, "log format"),
        ({**ENV, "VINOPS_MAX_ROW_BYTES": "0"}, "VINOPS_MAX_ROW_BYTES"),
        ({**ENV, "VINOPS_DLQ_TOPIC": "vinops.copart.lots"}, "topics must differ"),
        ({**ENV, "VINOPS_STARTUP_TIMEOUT_S": "soon"}, "VINOPS_STARTUP_TIMEOUT_S"),
        ({**ENV, "VINOPS_STARTUP_TIMEOUT_S": "-1"}, "VINOPS_STARTUP_TIMEOUT_S"),
        ({**ENV, "VINOPS_STARTUP_TIMEOUT_S": "nan"}, "VINOPS_STARTUP_TIMEOUT_S"),
        ({**ENV, "VINOPS_GC_INTERVAL_S": "-1"}, "VINOPS_GC_INTERVAL_S"),
        ({**ENV, "VINOPS_STAGING_RETENTION_DAYS": "0"}, "VINOPS_STAGING_RETENTION_DAYS"),
        ({**ENV, "VINOPS_STAGING_RETENTION_DAYS": "a month"}, "VINOPS_STAGING_RETENTION_DAYS"),
        ({**ENV, "VINOPS_MAINTENANCE_INTERVAL_S": "0"}, "VINOPS_MAINTENANCE_INTERVAL_S"),
        ({**ENV, "VINOPS_STORAGE_METRICS_INTERVAL_S": "nan"}, "VINOPS_STORAGE_METRICS_INTERVAL_S"),
        ({**ENV, "VINOPS_DB_GROWTH_ALERT_BYTES_PER_DAY": "0"}, "VINOPS_DB_GROWTH_ALERT"),
    ],
)
def test_bad_settings_fail_with_a_named_error(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle) as info:
        Settings.from_env(env)
    assert "s3cr3t" not in str(info.value)


def test_settings_are_frozen() -> None:
    s = Settings.from_env(ENV)
    with pytest.raises(AttributeError):
        s.group_id = "other"  # type: ignore[misc]


def test_every_setting_is_reachable_from_the_environment() -> None:
    env = {
        **ENV,
        "VINOPS_CONSUMER_NAME": "c9",
        "VINOPS_EXIT_WHEN_IDLE_S": "2.5",
        "VINOPS_SHUTDOWN_TIMEOUT_S": "7",
        "VINOPS_PG_POOL_SIZE": "3",
        "VINOPS_GC_INTERVAL_S": "0",
        "VINOPS_RETRY_BASE_S": "0.5",
        "VINOPS_RETRY_CAP_S": "4",
        "VINOPS_MAX_POLL_INTERVAL_MS": "90000",
        "VINOPS_PG_SSLMODE": "require",
        "VINOPS_KAFKA_SECURITY_PROTOCOL": "SSL",
        "VINOPS_STAGING_RETENTION_DAYS": "7",
        "VINOPS_MAINTENANCE_INTERVAL_S": "60",
        "VINOPS_STORAGE_METRICS_INTERVAL_S": "30",
        "VINOPS_DB_GROWTH_ALERT_BYTES_PER_DAY": "1000",
    }
    s = Settings.from_env(env)
    assert (s.storage.staging_retention_days, s.storage.maintenance_interval_s) == (7, 60.0)
    assert (s.storage.storage_metrics_interval_s, s.storage.growth_alert_bytes_per_day) == (
        30.0, 1000,
    )  # fmt: skip
    assert (s.consumer_name, s.exit_when_idle_s, s.shutdown_timeout_s) == ("c9", 2.5, 7.0)
    assert (s.pool_size, s.retry_base_s, s.retry_cap_s) == (3, 0.5, 4.0)
    assert (s.max_poll_interval_ms, s.gc_interval_s) == (90000, 0.0)
    assert s.kafka_security.protocol == "SSL"
    assert s.connect_dsn == ENV["VINOPS_PG_DSN"] + "?sslmode=require"


def test_the_dsn_and_kafka_password_come_from_files(tmp_path: Path) -> None:
    dsn, pw = tmp_path / "dsn", tmp_path / "pw"
    dsn.write_text(ENV["VINOPS_PG_DSN"] + "\n")
    pw.write_text("k-s3cr3t\n")
    env = {
        "VINOPS_KAFKA_BOOTSTRAP": "k:1",
        "VINOPS_PG_DSN_FILE": str(dsn),
        "VINOPS_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "VINOPS_KAFKA_SASL_USERNAME": "u",
        "VINOPS_KAFKA_SASL_PASSWORD_FILE": str(pw),
    }
    s = Settings.from_env(env)
    assert s.pg_dsn == ENV["VINOPS_PG_DSN"]
    assert s.kafka_security.sasl_password == "k-s3cr3t"
    for shown in (repr(s), str(s.describe())):
        assert "s3cr3t" not in shown


def test_a_dsn_both_inline_and_in_a_file_is_refused(tmp_path: Path) -> None:
    dsn = tmp_path / "dsn"
    dsn.write_text(ENV["VINOPS_PG_DSN"])
    with pytest.raises(SettingsError, match=r"^set VINOPS_PG_DSN or VINOPS_PG_DSN_FILE, not both$"):
        Settings.from_env({**ENV, "VINOPS_PG_DSN_FILE": str(dsn)})


def test_one_shot_commands_read_the_dsn_file_and_tls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = tmp_path / "dsn"
    dsn.write_text("postgresql://u:pw@h/db\n")
    env = {"VINOPS_PG_DSN_FILE": str(dsn), "VINOPS_PG_SSLMODE": "verify-full"}
    assert read_dsn("status", env) == "postgresql://u:pw@h/db?sslmode=verify-full"
    assert read_dsn("status", {**env, "VINOPS_PG_DSN": "x"}) is None
    assert capsys.readouterr().err == (
        "consumer status: set VINOPS_PG_DSN or VINOPS_PG_DSN_FILE, not both\n"
    )
