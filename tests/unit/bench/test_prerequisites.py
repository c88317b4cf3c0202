"""`make bench` without kcat: one line naming the package, exit 2, before any work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.run import missing_tools

ROOT = Path(__file__).resolve().parents[3]


def test_every_tool_found_is_no_message(tmp_path: Path) -> None:
    kcat = tmp_path / "kcat"
    kcat.write_text("#!/bin/sh\n")
    kcat.chmod(0o755)
    assert missing_tools(path=str(tmp_path)) is None


def test_without_kcat_the_run_stops_with_one_line(tmp_path: Path) -> None:
    # A PATH holding only python: kcat cannot be found, whatever this machine has.
    (tmp_path / "python").symlink_to(sys.executable)
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"],
        cwd=ROOT,
        env={**os.environ, "PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "bench: kcat not found: install it (apt-get install -y kcat)\n"
