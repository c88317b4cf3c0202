"""Settings come from an env mapping; CLI options win; bad values are usage errors."""

from __future__ import annotations

import argparse

import pytest

from producer.cli import build_parser
from producer.errors import ExitCode, UsageError
from producer.settings import Settings


def test_defaults_and_env_and_overrides() -> None:
    assert Settings.from_env({}).topic == "vinops.copart.lots"
    assert Settings.from_env({}).files_topic == "vinops.files"
    env = {"VINOPS_KAFKA_BOOTSTRAP": "k:9092", "VINOPS_TOPIC": "t", "VINOPS_PARTITIONS": "3"}
    settings = Settings.from_env(env, topic="cli", partitions=None)
    assert (settings.bootstrap_servers, settings.topic, settings.partitions) == ("k:9092", "cli", 3)


def test_bad_values_are_usage_errors() -> None:
    with pytest.raises(UsageError) as caught:
        Settings.from_env({"VINOPS_PARTITIONS": "six"})
    assert caught.value.exit_code is ExitCode.USAGE
    with pytest.raises(UsageError, match="bootstrap"):
        Settings.from_env({}).require_bootstrap()


def test_help_documents_exit_codes() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = sub.choices["publish"].format_help()
    assert "  3    file refused" in text
    assert "  130  interrupted" in text
