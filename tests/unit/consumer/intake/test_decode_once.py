"""Each record is decoded once, at intake: header and digest parsing live in consumer.intake
alone, and preparing a batch of known rows calls nothing that parses."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from consumer.prepare.prepare import prepare
from consumer.prepare.prepared import Known
from tests.unit.consumer.feedrows import decoded, member_row, row_msg

CONSUMER = Path(__file__).resolve().parents[4] / "consumer"
# What turns headers or a value's bytes into facts (feed.contract): intake's work alone.
PARSERS = {
    "header_map", "header_digest", "parse_digest", "row_digest", "content_digest", "content_of",
    "file_position", "from_header_map", "from_kafka_headers", "file_event_of",
    "decode_file_event", "to_inbound",
}  # fmt: skip


def _names(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Attribute):
            yield node.attr
        elif isinstance(node, ast.alias):
            yield node.name


def test_only_intake_names_a_header_or_digest_parser() -> None:
    found = {}
    for path in CONSUMER.rglob("*.py"):
        if path.relative_to(CONSUMER).parts[0] == "intake":
            continue
        used = PARSERS & set(_names(ast.parse(path.read_text(encoding="utf-8"))))
        if used:
            found[str(path.relative_to(CONSUMER))] = sorted(used)
    assert found == {}


def _calls_during(fn: Any) -> list[str]:
    seen: list[str] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            seen.append(f"{frame.f_globals.get('__name__')}.{frame.f_code.co_name}")

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return seen


def test_preparing_known_rows_decodes_nothing_again() -> None:
    records = [row_msg(member_row(str(n)), row_no=n, offset=n) for n in range(1, 50)]
    batch = decoded(records)
    known: Known = dict.fromkeys(batch.digests(), (49, 0, True))
    calls = _calls_during(lambda: prepare(batch, known=known))
    modules = {c.rsplit(".", 1)[0] for c in calls}
    assert not {m for m in modules if m.startswith(("consumer.intake", "feed."))}
    assert "consumer.prepare.mapping" not in modules  # nothing mapped either


def test_a_new_content_is_decoded_once_and_a_bisected_half_reuses_it() -> None:
    records = [row_msg(member_row(str(n)), row_no=n, offset=n) for n in range(1, 9)]
    batch = decoded(records)
    calls = _calls_during(lambda: prepare(batch))
    assert calls.count("feed.contract.decode_value") == len(records)
    whole = prepare(batch)
    for half in batch.halves():
        again = _calls_during(
            lambda half=half: prepare(half, known=whole.known, contents=whole.contents)
        )
        assert "feed.contract.decode_value" not in again
        assert not [c for c in again if c.startswith("consumer.prepare.mapping.")]
        assert len(prepare(half, known=whole.known, contents=whole.contents).rows) == len(half)
