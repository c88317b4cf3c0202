"""Static membership ids: stable per host and slot, distinct for two consumers on one host."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import pytest

from consumer.admin.cli import _parser, settings_from
from consumer.config import membership
from consumer.config.settings import Settings, SettingsError

ENV = {"VINOPS_KAFKA_BOOTSTRAP": "k:9092", "VINOPS_PG_DSN": "postgresql://u:pw@h/db"}


def _group() -> str:
    return f"g-{uuid.uuid4().hex}"


def test_two_consumers_of_one_group_on_one_host_get_distinct_ids() -> None:
    group = _group()
    first = membership.resolve(None, group, host="h")
    second = membership.resolve(None, group, host="h")
    assert (first, second) == ("h-0", "h-1")
    assert membership.resolve(None, _group(), host="h") == "h-0"  # slots are per group


def test_a_slot_is_freed_when_its_process_dies() -> None:
    group = _group()
    code = f"from consumer.config import membership; print(membership.claim_slot({group!r}))"
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
        for _ in range(2)
    ]
    # The second process, started after the first one exited, gets the same slot (same id).
    assert [r.stdout.strip() for r in runs] == ["0", "0"]


def test_configured_ids_win_and_none_means_dynamic() -> None:
    assert membership.resolve("replica-7", _group()) == "replica-7"
    assert membership.resolve("none", _group()) == ""
    assert membership.instance_id(" None ") == ""
    assert membership.instance_id(None) == ""


def test_cli_default_is_hostname_and_slot_and_flag_or_env_override() -> None:
    group = _group()
    args = _parser().parse_args(["run", "--group-id", group])
    assert settings_from(args, ENV).group_instance_id == f"{socket.gethostname()}-0"
    env = {**ENV, "VINOPS_GROUP_INSTANCE_ID": "from-env"}
    assert settings_from(args, env).group_instance_id == "from-env"
    flagged = _parser().parse_args(["run", "--group-instance-id", "none"])
    assert settings_from(flagged, env).group_instance_id == ""


def test_session_timeout_setting() -> None:
    assert Settings.from_env(ENV).session_timeout_ms == 45_000
    assert Settings.from_env({**ENV, "VINOPS_SESSION_TIMEOUT_MS": "60000"}).session_timeout_ms == (
        60_000
    )
    with pytest.raises(SettingsError, match="session timeout"):
        Settings.from_env({**ENV, "VINOPS_SESSION_TIMEOUT_MS": "1000"})
