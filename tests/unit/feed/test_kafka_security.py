"""Kafka security settings: validated up front, turned into the same options for every client."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from feed.kafka_security import KafkaSecurity, check_login
from feed.settings import SettingsError, load

SASL = {
    "VINOPS_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
    "VINOPS_KAFKA_SASL_USERNAME": "vinops",
    "VINOPS_KAFKA_SASL_PASSWORD": "pw-s3cr3t",
}


def test_plaintext_by_default() -> None:
    assert KafkaSecurity().client_options() == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_verifies_the_broker_and_logs_in() -> None:
    security = load(KafkaSecurity, SASL)
    options = security.client_options()
    context = options.pop("ssl_context")
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert options == {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "vinops", "sasl_plain_password": "pw-s3cr3t",
    }  # fmt: skip


def test_sasl_plaintext_has_no_tls() -> None:
    options = load(KafkaSecurity, {**SASL, "VINOPS_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    assert "ssl_context" not in options.client_options()


def test_ssl_alone_sends_no_login() -> None:
    options = load(KafkaSecurity, {"VINOPS_KAFKA_SECURITY_PROTOCOL": "SSL"}).client_options()
    assert set(options) == {"security_protocol", "ssl_context"}


def test_the_password_comes_from_a_file_and_stays_masked(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("pw-s3cr3t\n")
    env = {k: v for k, v in SASL.items() if k != "VINOPS_KAFKA_SASL_PASSWORD"}
    security = load(KafkaSecurity, {**env, "VINOPS_KAFKA_SASL_PASSWORD_FILE": str(path)})
    assert security.sasl_password == "pw-s3cr3t"
    assert "pw-s3cr3t" not in repr(security)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"VINOPS_KAFKA_SECURITY_PROTOCOL": "TLS"}, "must be one of PLAINTEXT"),
        ({**SASL, "VINOPS_KAFKA_SASL_MECHANISM": "GSSAPI"}, "VINOPS_KAFKA_SASL_MECHANISM"),
        ({**SASL, "VINOPS_KAFKA_SASL_PASSWORD": ""}, "VINOPS_KAFKA_SASL_PASSWORD is required"),
        ({"VINOPS_KAFKA_SASL_USERNAME": "u"}, "SASL credentials are set"),
        ({"VINOPS_KAFKA_CA_FILE": "/etc/hostname"}, "SSL or SASL_SSL uses it"),
        ({**SASL, "VINOPS_KAFKA_CA_FILE": "/no/such/ca.pem"}, "no such file"),
    ],
)
def test_bad_combinations_are_named(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle) as info:
        load(KafkaSecurity, env)
    assert "pw-s3cr3t" not in str(info.value)


async def test_no_broker_is_not_a_refused_login() -> None:
    security = load(KafkaSecurity, {**SASL, "VINOPS_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    # The caller retries this one; a refusal would be fatal.
    with pytest.raises(ConnectionRefusedError):
        await check_login("127.0.0.1:1", security, timeout_s=5)
