"""PostgreSQL TLS settings are written into the DSN every connection of the consumer uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumer.config.pg_dsn import PgTls
from feed.settings import SettingsError, load

DSN = "postgresql://u:p%40ss@db:5432/vinops"


def test_nothing_set_leaves_the_dsn_alone() -> None:
    assert PgTls().apply(DSN + "?sslmode=require") == DSN + "?sslmode=require"


def test_the_settings_go_into_the_query_over_the_dsns_own(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("pem")
    tls = load(PgTls, {"VINOPS_PG_SSLMODE": "verify-full", "VINOPS_PG_SSLROOTCERT": str(ca)})
    got = tls.apply(DSN + "?application_name=x&sslmode=prefer")
    assert got == (
        f"{DSN}?application_name=x&sslmode=verify-full&sslrootcert={str(ca).replace('/', '%2F')}"
    )


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"VINOPS_PG_SSLMODE": "verify"}, "VINOPS_PG_SSLMODE must be one of disable"),
        ({"VINOPS_PG_SSLROOTCERT": "/no/such/ca.pem"}, "VINOPS_PG_SSLROOTCERT: no such file"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        load(PgTls, env)
