"""The env file ``devstack/stack.sh up`` writes (``export KEY=value`` lines) and where it is."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def state_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The stack's state folder: VINOPS_DEVSTACK_DIR, as stack.sh reads it, else .devstack."""
    return Path(environ.get("VINOPS_DEVSTACK_DIR") or ROOT / ".devstack")


def read_env_file(path: Path) -> dict[str, str]:
    """The ``export KEY=value`` lines of ``path`` (shell quoting undone); {} if it is absent."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            values[key] = value
    return values
