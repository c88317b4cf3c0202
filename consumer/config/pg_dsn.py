"""The PostgreSQL DSN: its TLS settings, and its password masked wherever it is shown.

TLS is asked for in the DSN (``?sslmode=verify-full&sslrootcert=/ca.pem``, as libpq and
asyncpg read it) or with ``VINOPS_PG_SSLMODE`` / ``VINOPS_PG_SSLROOTCERT``, which are written
into every DSN the consumer connects with (the service's pool, ``consumer migrate``,
``status``, ``export-raw``) and win over the DSN's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from feed.settings import SettingsError, env

SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

_PASSWORD = re.compile(r"(?P<head>://[^:/@]*:)(?P<secret>[^@]*)(?P<tail>@)")
_PASSWORD_PARAM = re.compile(r"(?P<head>[?&]password=)(?P<secret>[^&]*)", re.IGNORECASE)


def mask_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ``***``."""
    masked = _PASSWORD.sub(r"\g<head>***\g<tail>", dsn)
    return _PASSWORD_PARAM.sub(r"\g<head>***", masked)


@dataclass(frozen=True, slots=True)
class PgTls:
    sslmode: str | None = field(default=None, metadata=env("VINOPS_PG_SSLMODE", str.strip))
    # PEM file of the CA that signed the server's certificate (libpq's sslrootcert).
    sslrootcert: str | None = field(default=None, metadata=env("VINOPS_PG_SSLROOTCERT"))

    def __post_init__(self) -> None:
        if self.sslmode is not None and self.sslmode not in SSLMODES:
            raise SettingsError(
                f"VINOPS_PG_SSLMODE must be one of {', '.join(SSLMODES)}, got {self.sslmode!r}"
            )
        if self.sslrootcert is not None and not Path(self.sslrootcert).is_file():
            raise SettingsError(f"VINOPS_PG_SSLROOTCERT: no such file {self.sslrootcert}")

    def apply(self, dsn: str) -> str:
        """``dsn`` with these settings in its query (replacing the DSN's own)."""
        pairs = (("sslmode", self.sslmode), ("sslrootcert", self.sslrootcert))
        wanted = {k: v for k, v in pairs if v is not None}
        if not wanted:
            return dsn
        parts = urlsplit(dsn)
        query = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in wanted
        ]
        return urlunsplit(parts._replace(query=urlencode([*query, *wanted.items()])))
