"""Bad configuration as a new user makes it: each case exits with one line naming the problem
and the exit code of README's table, within its stated bound (never a hang, no traceback).

Bounds: a wrong password, a missing or invalid setting, a database that does not exist exit
at once; a service nobody listens on is waited for VINOPS_STARTUP_TIMEOUT_S (here 2 s) at
start-up, then the process exits 5. The subprocess timeouts below only guard against a hang.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests.conftest import UniqueName
from tests.databases import FreshDb
from tests.e2e.harness import ROOT, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    env: dict[str, str]
    code: int
    line: str  # a regular expression the last line of stderr must match
    alone: bool = False  # refused before any start-up log: that line is all of stderr


def _cases(db: FreshDb, bootstrap: str, topics: dict[str, str]) -> dict[str, Case]:
    nobody = f"127.0.0.1:{free_port()}"  # nothing listens there
    wrong_password = _PASSWORD.sub(r"\1not-the-password@", db.etl_dsn)
    closed_db = re.sub(r"@[^/]*/", f"@{nobody}/", db.etl_dsn)
    no_such_db = db.etl_dsn.rsplit("/", 1)[0] + "/vinops_no_such_db"
    run = ("consumer", "run", "--metrics-port", "0", *(f"--{k}={v}" for k, v in topics.items()))
    ok = {"VINOPS_KAFKA_BOOTSTRAP": bootstrap, "VINOPS_PG_DSN": db.etl_dsn}
    publish = ("producer", "publish", str(ROOT / "samples" / "copart-sample.csv"))
    return {
        "run: wrong password": Case(
            run, {**ok, "VINOPS_PG_DSN": wrong_password}, 5,
            r"^consumer run: PostgreSQL refused the login \(28P01: .*\*\*\*",
        ),
        "run: nothing on the DB port": Case(
            run, {**ok, "VINOPS_PG_DSN": closed_db, "VINOPS_STARTUP_TIMEOUT_S": "2"}, 5,
            r"^consumer run: PostgreSQL still unreachable after 2 s .*ConnectionRefusedError",
        ),
        "run: nothing on the Kafka port": Case(
            run, {**ok, "VINOPS_KAFKA_BOOTSTRAP": nobody, "VINOPS_STARTUP_TIMEOUT_S": "2"}, 5,
            r"^consumer run: Kafka \(dead-letter topic\) still unreachable after 2 s .*Kafka",
        ),
        "run: no DSN": Case(run, {"VINOPS_KAFKA_BOOTSTRAP": bootstrap}, 2,
                            r"^consumer run: VINOPS_PG_DSN is required$", alone=True),
        "run: no such database": Case(
            run, {**ok, "VINOPS_PG_DSN": no_such_db}, 2,
            r'^consumer run: database "vinops_no_such_db" does not exist',
        ),
        "run: non-numeric env": Case(
            run, {**ok, "VINOPS_BATCH_SIZE": "many"}, 2,
            r"^consumer run: VINOPS_BATCH_SIZE must be a number", alone=True,
        ),
        "run: non-numeric flag": Case(
            (*run, "--batch-size", "many"), ok, 2,
            r"^consumer run: argument --batch-size: invalid int value: 'many'", alone=True,
        ),
        "run: negative start-up timeout": Case(
            run, {**ok, "VINOPS_STARTUP_TIMEOUT_S": "-1"}, 2,
            r"^consumer run: VINOPS_STARTUP_TIMEOUT_S must be >= 0", alone=True,
        ),
        "migrate: wrong password": Case(
            ("consumer", "migrate"), {"VINOPS_PG_DSN": wrong_password}, 5,
            r"^consumer migrate: cannot connect to .*\*\*\*.*InvalidPasswordError",
        ),
        "migrate: nothing on the DB port": Case(
            ("consumer", "migrate"), {"VINOPS_PG_DSN": closed_db}, 5,
            r"^consumer migrate: cannot connect to .*ConnectionRefusedError",
        ),
        "migrate: no DSN": Case(
            ("consumer", "migrate"), {}, 2, r"^consumer migrate: no DSN", alone=True
        ),
        "publish: nothing on the Kafka port": Case(
            (*publish, "--bootstrap-servers", nobody), {}, 4, r"^producer: Kafka at .*: Kafka"
        ),
        "publish: no bootstrap": Case(publish, {}, 2, r"^producer: .*bootstrap", alone=True),
        "publish: non-numeric option": Case(
            (*publish, "--bootstrap-servers", bootstrap, "--partitions", "six"), {}, 2,
            r"^producer publish: argument --partitions: invalid int value: 'six' \(see --help\)$",
            alone=True,
        ),
    }  # fmt: skip


CASES = (
    "run: wrong password", "run: nothing on the DB port", "run: nothing on the Kafka port",
    "run: no DSN", "run: no such database", "run: non-numeric env", "run: non-numeric flag",
    "run: negative start-up timeout", "migrate: wrong password",
    "migrate: nothing on the DB port", "migrate: no DSN", "publish: nothing on the Kafka port",
    "publish: no bootstrap", "publish: non-numeric option",
)  # fmt: skip


@pytest.mark.parametrize("name", CASES)
async def test_bad_configuration_exits_with_one_line_and_its_code(
    name: str, fresh_db: FreshDb, kafka_bootstrap: str, unique_name: UniqueName
) -> None:
    topics = {
        "topic": unique_name("rows"), "files-topic": unique_name("files"),
        "dlq-topic": unique_name("dlq"), "group-id": unique_name("group"),
    }  # fmt: skip
    case = _cases(fresh_db, kafka_bootstrap, topics)[name]
    module, *args = case.argv
    cli = {"consumer": "consumer.admin.cli", "producer": "producer.cli"}[module]
    cmd = [sys.executable, "-c", f"import sys; from {cli} import main; sys.exit(main())"]
    done = await asyncio.to_thread(
        subprocess.run, [*cmd, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "VINOPS_LOG_FORMAT": "text", **case.env}, check=False,
    )  # fmt: skip
    assert done.returncode == case.code, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert re.search(case.line, lines[-1]), lines[-1]
    if case.alone:
        assert len(lines) == 1, lines
    assert "not-the-password" not in done.stderr
