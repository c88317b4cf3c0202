"""How producer and consumer reach Kafka securely: TLS, SASL/SCRAM, and a login check.

``KafkaSecurity`` is one settings group (``VINOPS_KAFKA_SECURITY_PROTOCOL`` and friends)
shared by every Kafka client the two programs construct: ``client_options()`` is spread
into each ``AIOKafkaProducer`` / ``AIOKafkaConsumer`` / ``AIOKafkaAdminClient``.

A refused login or an untrusted certificate is a configuration error, not an outage, but an
aiokafka client only says "Unable to bootstrap" and keeps trying. ``check_login`` opens one
connection first and tells the two apart: ``LoginRefusedError`` (stop, one line, non-zero
exit) versus the broker being away (the caller's usual retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import errors as kafka_errors
from aiokafka.conn import create_conn

from feed.settings import SettingsError, env, masked_repr, secret

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
_TLS = ("SSL", "SASL_SSL")
_SASL = ("SASL_PLAINTEXT", "SASL_SSL")
# The broker said no to these credentials or this mechanism: retrying cannot help.
_REFUSED = (
    kafka_errors.SaslAuthenticationFailed,
    kafka_errors.AuthenticationFailedError,
    kafka_errors.UnsupportedSaslMechanismError,
    kafka_errors.IllegalSaslStateError,
)


class LoginRefusedError(SettingsError):
    """Kafka refused the credentials, or its certificate is not trusted: a setting is wrong."""


def _upper(text: str) -> str:
    return text.strip().upper()


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    protocol: str = field(
        default="PLAINTEXT", metadata=env("VINOPS_KAFKA_SECURITY_PROTOCOL", _upper)
    )
    sasl_mechanism: str = field(
        default="SCRAM-SHA-512", metadata=env("VINOPS_KAFKA_SASL_MECHANISM", _upper)
    )
    sasl_username: str | None = field(default=None, metadata=env("VINOPS_KAFKA_SASL_USERNAME"))
    sasl_password: str | None = field(default=None, metadata=secret("VINOPS_KAFKA_SASL_PASSWORD"))
    # PEM file of the CA that signed the brokers' certificates; the system's CAs when unset.
    ca_file: str | None = field(default=None, metadata=env("VINOPS_KAFKA_CA_FILE"))

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise SettingsError(
                f"VINOPS_KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, "
                f"got {self.protocol!r}"
            )
        if self.sasl_mechanism not in MECHANISMS:
            raise SettingsError(
                f"VINOPS_KAFKA_SASL_MECHANISM must be one of {', '.join(MECHANISMS)}, "
                f"got {self.sasl_mechanism!r}"
            )
        if self.sasl:
            for name, value in (
                ("VINOPS_KAFKA_SASL_USERNAME", self.sasl_username),
                ("VINOPS_KAFKA_SASL_PASSWORD", self.sasl_password),
            ):
                if not value:
                    raise SettingsError(f"{name} is required with {self.protocol}")
        elif self.sasl_username or self.sasl_password:
            raise SettingsError(
                f"SASL credentials are set but VINOPS_KAFKA_SECURITY_PROTOCOL is {self.protocol}"
                " (SASL_SSL or SASL_PLAINTEXT uses them)"
            )
        if self.ca_file is not None:
            if not self.tls:
                raise SettingsError(
                    f"VINOPS_KAFKA_CA_FILE is set but VINOPS_KAFKA_SECURITY_PROTOCOL is "
                    f"{self.protocol} (SSL or SASL_SSL uses it)"
                )
            if not Path(self.ca_file).is_file():
                raise SettingsError(f"VINOPS_KAFKA_CA_FILE: no such file {self.ca_file}")

    @property
    def tls(self) -> bool:
        return self.protocol in _TLS

    @property
    def sasl(self) -> bool:
        return self.protocol in _SASL

    def __repr__(self) -> str:
        return masked_repr(self)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client: the protocol, TLS context, SASL login."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            # Verifies the chain and the host name, as the JVM clients do by default.
            options["ssl_context"] = ssl.create_default_context(cafile=self.ca_file)
        if self.sasl:
            options.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        return options


def _hosts(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for item in bootstrap.split(","):
        host, _, port = item.strip().rpartition(":")
        out.append((host.strip("[]") or item.strip(), int(port) if port.isdigit() else 9092))
    return out


async def check_login(bootstrap: str, security: KafkaSecurity, timeout_s: float = 15.0) -> None:
    """Open one connection to a bootstrap broker, TLS and SASL included, and close it.

    Raises ``LoginRefusedError`` when the broker refuses the login or its certificate is not
    trusted; the connection error of the last broker tried when none answers (the caller
    retries those); returns once one broker accepted us.
    """
    if security.protocol == "PLAINTEXT":
        return  # nothing to refuse: the clients' own errors say all there is
    options = security.client_options()
    last: BaseException | None = None
    for host, port in _hosts(bootstrap):
        try:
            conn = await asyncio.wait_for(
                create_conn(host, port, request_timeout_ms=int(timeout_s * 1000), **options),
                timeout_s,
            )
        except _REFUSED as exc:
            raise LoginRefusedError(
                f"Kafka at {host}:{port} refused the {security.sasl_mechanism} login of "
                f"{security.sasl_username!r}: {' '.join(str(exc).split())}"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise LoginRefusedError(
                f"Kafka at {host}:{port}: its TLS certificate is not trusted "
                f"(VINOPS_KAFKA_CA_FILE={security.ca_file}): {exc.verify_message}"
            ) from None
        except (OSError, kafka_errors.KafkaError, TimeoutError) as exc:
            last = exc
            continue
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), timeout_s)  # the socket is closed, not only asked
        return
    assert last is not None  # noqa: S101 - _hosts() never returns an empty list
    raise last
