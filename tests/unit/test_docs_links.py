"""The README and docs/ point only at files of this repository, and the README's alert
table names every alert rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.observability.metric_contract import rules

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")
BACKTICKED_PATH = re.compile(r"`(?P<path>\.\./[^`\s]+)`")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve_inside_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    targets = [m["target"] for m in LINK.finditer(text) if "://" not in m["target"]]
    for target in targets:
        resolved = (doc.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), target
        assert resolved.exists(), target
    assert [m["path"] for m in BACKTICKED_PATH.finditer(text)] == []


def test_the_readme_alert_table_names_every_alert() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    in_table = set(re.findall(r"^\| (Vinops\w+) \|", text, re.MULTILINE))
    assert in_table == {r["alert"] for r in rules("alert")}
