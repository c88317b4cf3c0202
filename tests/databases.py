"""Test databases: one migrated template per session, a fresh copy of it per test.

Copying a template (CREATE DATABASE ... TEMPLATE) takes a fraction of a second, far less
than running every migration again, and gives each test an isolated, fully migrated
database. The fixtures that use these live in tests/conftest.py.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import asyncpg

from consumer.config.settings import mask_dsn
from consumer.store.migrate import default_migrations_dir, load_registry, migrate
from devstack.databases import create_database, drop_database
from devstack.dsn import dsn_for


@dataclass(frozen=True, slots=True)
class MigratedTemplate:
    name: str
    admin_dsn: str

    def __repr__(self) -> str:
        return f"MigratedTemplate(name={self.name!r}, admin_dsn={mask_dsn(self.admin_dsn)!r})"


@dataclass(frozen=True, slots=True)
class FreshDb:
    name: str
    admin_dsn: str  # the owner login (runs DDL, member of admin)
    etl_dsn: str  # the consumer login vinops_etl (member of etl_rw only)

    def __repr__(self) -> str:
        return (
            f"FreshDb(name={self.name!r}, admin_dsn={mask_dsn(self.admin_dsn)!r}, "
            f"etl_dsn={mask_dsn(self.etl_dsn)!r})"
        )


@asynccontextmanager
async def new_database(
    admin_dsn: str, superuser_dsn: str, prefix: str, template: str = "template1"
) -> AsyncIterator[str]:
    """CREATE DATABASE <prefix><random> owned by the admin login; dropped on exit."""
    name = f"{prefix}{secrets.token_hex(5)}"
    await create_database(admin_dsn, name, template)
    try:
        yield name
    finally:
        # As superuser: WITH (FORCE) must be able to end sessions of any login (vinops_etl).
        await drop_database(superuser_dsn, name)


@asynccontextmanager
async def migrated_database(admin_dsn: str, superuser_dsn: str) -> AsyncIterator[MigratedTemplate]:
    async with new_database(admin_dsn, superuser_dsn, "vinops_tpl_") as name:
        dsn = dsn_for(admin_dsn, name)
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn, load_registry(default_migrations_dir()))
        finally:
            # Nobody may stay connected: a template with sessions cannot be copied.
            await conn.close()
        yield MigratedTemplate(name=name, admin_dsn=dsn)


@asynccontextmanager
async def fresh_database(
    template: MigratedTemplate, admin_dsn: str, etl_dsn: str, superuser_dsn: str
) -> AsyncIterator[FreshDb]:
    async with new_database(admin_dsn, superuser_dsn, "vinops_t_", template.name) as name:
        yield FreshDb(name=name, admin_dsn=dsn_for(admin_dsn, name), etl_dsn=dsn_for(etl_dsn, name))


@dataclass(frozen=True)
class Server:
    """Where fresh databases come from, for a test that needs more than one (the DSNs stay
    out of reprs: a failing example's report prints its arguments)."""

    template: MigratedTemplate
    admin_dsn: str
    etl_dsn: str
    superuser_dsn: str

    def __repr__(self) -> str:
        return f"Server(template={self.template.name!r})"

    def fresh(self) -> AbstractAsyncContextManager[FreshDb]:
        return fresh_database(self.template, self.admin_dsn, self.etl_dsn, self.superuser_dsn)
