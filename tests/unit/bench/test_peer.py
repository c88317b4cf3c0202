"""The peer's pure parts: its messages as JsonConverter reads them, its configuration."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from bench.expect import Expected
from bench.generate import Spec, generate
from bench.peer.connect import connector_properties, jdbc_url, task_started_at
from bench.peer.jars import PeerJars, PeerUnavailableError
from bench.peer.messages import COLUMNS, encode_key, encode_value, end_marker, rows
from bench.scenarios import peer as peer_scenario
from bench.scenarios.common import QUICK, Ctx
from bench.stack import Stack, plain_text


def test_value_carries_its_schema_and_typed_payload() -> None:
    value = orjson.loads(encode_value({
        "lot_external_id": "42", "sale_date": dt.date(1970, 1, 11), "high_bid": Decimal("25.50"),
        "source_updated_at": dt.datetime(1970, 1, 1, 0, 0, 2, tzinfo=dt.UTC), "year": 2020,
    }))  # fmt: skip
    fields = {f["field"]: f for f in value["schema"]["fields"]}
    assert list(fields) == list(COLUMNS)
    assert fields["lot_external_id"]["optional"] is False
    assert fields["sale_date"]["name"] == "org.apache.kafka.connect.data.Date"
    assert fields["source_updated_at"]["name"] == "org.apache.kafka.connect.data.Timestamp"
    assert fields["high_bid"]["parameters"]["scale"] == "2"
    payload = value["payload"]
    assert payload["sale_date"] == 10
    assert payload["source_updated_at"] == 2000
    assert payload["high_bid"] == 25.5
    assert payload["vin"] is None
    key = orjson.loads(encode_key("42"))
    assert key["payload"] == {"lot_external_id": "42"}
    assert key["schema"]["type"] == "struct"


def test_rows_are_the_files_good_rows_typed(tmp_path: Path) -> None:
    path = generate(Spec(rows=200, seed=1, malformed=2, duplicates=3), tmp_path / "f.csv").path
    got = list(rows(path))
    assert len(got) == 198
    assert len({r["lot_external_id"] for r in got}) == 195
    assert all(isinstance(r["source_updated_at"], dt.datetime) for r in got)
    assert len({r["source_file_id"] for r in got}) == 1
    marker = end_marker(got[0]["source_file_id"], 5)
    assert marker["lot_external_id"].endswith(":5")


def test_connector_is_configured_for_keyed_upserts() -> None:
    props = dict(
        line.split("=", 1)
        for line in connector_properties(
            "t", "postgresql://u%40x:p%2Fw@127.0.0.1:5432/db", "peer_lots"
        ).splitlines()
        if line
    )
    assert props["insert.mode"] == "upsert"
    assert props["primary.key.mode"] == "record_key"
    assert props["batch.size"] == "5000"
    assert props["tasks.max"] == "1"
    assert props["connection.username"] == "u@x"
    assert props["connection.password"] == "p/w"
    assert jdbc_url("postgresql://u:p@h:1/d")[0] == "jdbc:postgresql://h:1/d"


def test_task_start_is_read_from_the_worker_log() -> None:
    log = (
        "1796293563000 INFO Worker started (org.apache.kafka.connect.runtime.Worker)\n"
        "1796293563549 INFO WorkerSinkTask{id=vinops-peer-0} Sink task finished "
        "initialization and start (org.apache.kafka.connect.runtime.WorkerSinkTask)\n"
    )
    assert task_started_at(log) == 1796293563.549
    assert task_started_at("") is None


def _ctx(tmp_path: Path, *, quick: bool) -> Ctx:
    stack = Stack("127.0.0.1:1", "postgresql://x@127.0.0.1:1/x", "postgresql://x@127.0.0.1:1/x",
                  None)  # fmt: skip
    return Ctx(stack, QUICK, tmp_path / "f.csv", Expected(0, 0, frozenset()), quick=quick)


def _unavailable() -> PeerJars:
    raise PeerUnavailableError("mvn not found: install Maven")


async def test_quick_skips_the_peer_in_one_line_and_full_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(peer_scenario, "peer_jars", _unavailable)
    assert await peer_scenario.run(_ctx(tmp_path, quick=True)) == {
        "skipped": "mvn not found: install Maven"
    }
    assert capsys.readouterr().out.strip() == "peer skipped: mvn not found: install Maven"
    with pytest.raises(PeerUnavailableError):
        await peer_scenario.run(_ctx(tmp_path, quick=False))


def test_the_jdbc_url_keeps_the_tls_mode_of_the_dsn() -> None:
    url = jdbc_url("postgresql://u:p@h:1/d?sslmode=disable&application_name=x")[0]
    assert url == "jdbc:postgresql://h:1/d?sslmode=disable"


def test_the_bench_connects_in_plain_text_unless_the_dsn_asks_for_a_mode() -> None:
    assert plain_text("postgresql://u:p@h:1/d") == "postgresql://u:p@h:1/d?sslmode=disable"
    assert plain_text("postgresql://h/d?a=1") == "postgresql://h/d?a=1&sslmode=disable"
    assert plain_text("postgresql://h/d?sslmode=require") == "postgresql://h/d?sslmode=require"
