"""The README's settings tables list exactly the variables the loaders read, per command.

The tables of the "Commands" section: `producer publish`'s, `consumer run`'s, and the shared
"Connecting securely" one, whose "used by" column says which command reads a row. Every
secret's `<NAME>_FILE` form is documented too.
"""

from __future__ import annotations

import re
from pathlib import Path

from consumer.config.settings import Database
from consumer.config.settings import Settings as ConsumerSettings
from feed.settings import variables
from producer.settings import Settings as ProducerSettings

README = Path(__file__).resolve().parents[2] / "README.md"
_VAR = re.compile(r"\bVINOPS_[A-Z0-9_]+\b")


def _commands_section() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    return section.splitlines()


def documented() -> dict[str, set[str]]:
    """Variables named in each command's table rows (the shared table counts for each
    command its "used by" column names)."""
    found: dict[str, set[str]] = {"producer": set(), "consumer": set()}
    heading = ""
    for line in _commands_section():
        if line.startswith("### "):
            heading = line
            continue
        if not line.startswith("|"):
            continue
        names = set(_VAR.findall(line))
        if "producer publish" in heading:
            found["producer"] |= names
        elif "consumer run" in heading:
            found["consumer"] |= names
        elif "Connecting securely" in heading:
            used_by = line.split("|")[2]
            for command in found:
                if command in used_by:
                    found[command] |= names
    return found


def _secrets(*kinds: type) -> set[str]:
    return {v.name for kind in kinds for v in variables(kind) if v.secret}


def _names(*kinds: type) -> set[str]:
    return {v.name for kind in kinds for v in variables(kind)}


def _without_file_forms(names: set[str], secrets: set[str]) -> set[str]:
    return {n for n in names if not (n.endswith("_FILE") and n[: -len("_FILE")] in secrets)}


def test_the_producer_table_lists_every_producer_setting() -> None:
    assert _without_file_forms(documented()["producer"], _secrets(ProducerSettings)) == _names(
        ProducerSettings
    )


def test_the_consumer_tables_list_every_consumer_setting() -> None:
    kinds = (ConsumerSettings, Database)
    assert _without_file_forms(documented()["consumer"], _secrets(*kinds)) == _names(*kinds)


def test_every_secret_documents_its_file_form() -> None:
    text = "\n".join(_commands_section())
    secrets = _secrets(ProducerSettings, ConsumerSettings, Database)
    assert secrets == {"VINOPS_PG_DSN", "VINOPS_PG_ADMIN_DSN", "VINOPS_KAFKA_SASL_PASSWORD"}
    for name in secrets:
        assert f"`{name}_FILE`" in text, name


def test_the_issue_14_gaps_are_closed() -> None:
    names = documented()
    assert {
        "VINOPS_PARTITIONS", "VINOPS_REPLICATION_FACTOR", "VINOPS_PRODUCER_COMPRESSION",
        "VINOPS_PRODUCER_LINGER_MS", "VINOPS_PRODUCER_BATCH_BYTES",
    } <= names["producer"]  # fmt: skip
    assert {"VINOPS_SHUTDOWN_TIMEOUT_S", "VINOPS_PG_POOL_SIZE"} <= names["consumer"]
