"""`consumer history LOT|VIN [--json]`: a lot's versions in time order with what each changed
(the table highlights the new values), a VIN's lots whole, JSON for programs, and one line and
exit 1 for a lot or VIN the history does not hold."""

from __future__ import annotations

import asyncio
import io

import asyncpg
import orjson
import pytest
from rich.console import Console

from consumer.admin import history_cli
from consumer.admin.cli import main
from consumer.admin.history import LotHistory, history_of
from tests.coredump import ingest
from tests.databases import FreshDb
from tests.integration.test_merge_rule import messages_of

pytestmark = pytest.mark.integration

VIN_A, VIN_B = "4JGBF7BE5AA585531", "5TDYZ3DCXHS795095"
# Lot 301: three versions, arriving newest first; its VIN changes at the third. Lot 302
# carried VIN_B all along.
VERSIONS = [
    ("301", "2021-01-03T00:00:00Z", VIN_B, "KIA", "20200709", "300.0"),
    ("302", "2021-01-01T00:00:00Z", VIN_B, "FORD", "0", "0"),
    ("301", "2021-01-02T00:00:00Z", VIN_A, "FORD", "20200702", "275.0"),
    ("301", "2021-01-01T00:00:00Z", VIN_A, "FORD", "0", "0"),
]


def run(args: list[str], dsn: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["history", *args], env={"VINOPS_PG_DSN": dsn})
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def filled(fresh_db: FreshDb) -> FreshDb:
    asyncio.run(ingest(fresh_db.etl_dsn, messages_of(VERSIONS), 1))
    return fresh_db


def test_json_of_a_lot_lists_each_version_and_its_changes(
    filled: FreshDb, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["301", "--json"], filled.etl_dsn, capsys)
    assert code == 0
    body = orjson.loads(out)
    assert [lot["lot"] for lot in body["lots"]] == ["301"]
    versions = body["lots"][0]["versions"]
    assert [v["valid_from"] for v in versions] == [
        "2021-01-01T00:00:00Z", "2021-01-02T00:00:00Z", "2021-01-03T00:00:00Z",
    ]  # fmt: skip
    assert [v["valid_to"] for v in versions] == [
        "2021-01-02T00:00:00Z", "2021-01-03T00:00:00Z", None,
    ]  # fmt: skip
    assert versions[0]["changed"] is None  # the first version
    assert versions[1]["changes"]["high_bid"] == {"old": None, "new": 275.0}
    assert versions[1]["changes"]["sale_date"] == {"old": None, "new": "2020-07-02"}
    assert versions[2]["changes"]["vin"] == {"old": VIN_A, "new": VIN_B}
    assert versions[2]["changes"]["make"] == {"old": "FORD", "new": "KIA"}
    assert [v["vin"] for v in versions] == [VIN_A, VIN_A, VIN_B]


def test_a_vin_shows_every_lot_that_carried_it_whole(
    filled: FreshDb, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run([VIN_B.lower(), "--json"], filled.etl_dsn, capsys)
    assert code == 0
    lots = {lot["lot"]: len(lot["versions"]) for lot in orjson.loads(out)["lots"]}
    assert lots == {"301": 3, "302": 1}
    code, out, _ = run([VIN_A, "--json"], filled.etl_dsn, capsys)
    assert {lot["lot"] for lot in orjson.loads(out)["lots"]} == {"301"}


def test_the_table_highlights_what_changed(
    filled: FreshDb, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["301"], filled.etl_dsn, capsys)
    assert code == 0
    assert "Lot 301: 3 version(s)" in out
    assert "high_bid: - → 275.0" in out
    assert f"vin: {VIN_A} → {VIN_B}" in out
    assert "make: FORD → KIA" in out

    async def lots() -> list[LotHistory]:
        conn = await asyncpg.connect(filled.etl_dsn)
        try:
            return list(await history_of(conn, "301"))
        finally:
            await conn.close()

    (lot,) = asyncio.run(lots())
    text = history_cli.changes_text(lot.versions[2])
    styled = {text.plain[s.start : s.end]: str(s.style) for s in text.spans}
    assert styled["KIA"] == "bold yellow"  # the new value
    assert styled["FORD"] == "red strike"  # the old one
    rendered = io.StringIO()
    Console(file=rendered, force_terminal=True, width=160).print(text)
    assert "\x1b[" in rendered.getvalue()  # a terminal gets the colours


def test_nothing_known_is_one_line_and_exit_1(
    filled: FreshDb, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["999"], filled.etl_dsn, capsys)
    assert (code, out) == (1, "")
    assert err == "consumer history: no lot or VIN '999' in the history\n"
