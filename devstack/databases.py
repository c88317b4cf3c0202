"""Databases made and dropped the way the migrations expect them (tests and the bench).

A database copied from a template does not inherit the template's database-level grants,
so each new one gets what migration 0011 grants on its own database: CONNECT and TEMPORARY
(the sink's temp tables) to etl_rw, CONNECT to app_ro.
"""

from __future__ import annotations

import asyncpg


async def create_database(admin_dsn: str, name: str, template: str = "template1") -> None:
    """CREATE DATABASE ``name`` from ``template``, owned by the login of ``admin_dsn``."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        await conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{name}" TO etl_rw')
        await conn.execute(f'GRANT CONNECT ON DATABASE "{name}" TO app_ro')
    finally:
        await conn.close()


async def drop_database(dsn: str, name: str) -> None:
    """DROP DATABASE ``name`` WITH (FORCE); as superuser it also ends any login's sessions."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
