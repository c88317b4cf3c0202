"""PostgreSQL restored from an older backup: its offsets are behind Kafka's committed ones.

The database is the only source of truth for positions, so the consumer reads again from
the database's offsets. aiokafka starts fetching a new assignment from Kafka's committed
offsets before the assignment callback has sought back; none of those records may be
written in place of the earlier ones they would skip.
"""

from __future__ import annotations

import dataclasses
import signal

import pytest

from tests.databases import MigratedTemplate, fresh_database
from tests.e2e.harness import Harness, count, dump, wait_count, wait_exit
from tests.faults.conftest import BigTopic

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(600)]

RAW = "SELECT count(*) FROM raw.file_rows"


async def test_a_restored_database_is_refilled_from_its_own_offsets(  # noqa: PLR0917 - fixtures
    big: Harness,
    big_topic: BigTopic,
    migrated_template: MigratedTemplate,
    pg_admin_dsn: str,
    pg_dsn: str,
    pg_superuser_dsn: str,
) -> None:
    # Half the topic, drained on SIGTERM: Kafka's committed offsets now sit mid-topic.
    proc = big.start()
    await wait_count(big.admin_dsn, RAW, big_topic.rows // 2)
    proc.send_signal(signal.SIGTERM)
    assert wait_exit(proc, 60) == 0
    assert await count(big.admin_dsn, RAW) < big_topic.rows
    # The same group on a database "restored" from before its first batch.
    async with fresh_database(migrated_template, pg_admin_dsn, pg_dsn, pg_superuser_dsn) as db:
        restored = dataclasses.replace(big, etl_dsn=db.etl_dsn, admin_dsn=db.admin_dsn, procs=[])
        restored.consume()
        assert await count(db.admin_dsn, RAW) == big_topic.rows
        assert await dump(db.admin_dsn) == big_topic.baseline
