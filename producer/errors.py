"""Typed, one-line errors of ``producer publish`` and the exit codes they map to.

Exit codes (also printed by ``producer publish --help``):
  0    every row of every file delivered, or the file skipped as already published
  2    usage error (bad option, no bootstrap servers)
  3    a file was refused (missing, unreadable, empty, HTML, not a recognised feed);
       nothing of that file was sent
  4    delivery failed (Kafka unreachable, a send not acknowledged, topic creation failed)
  130  interrupted (Ctrl-C): what was sent is reported, an ``aborted`` record (best effort)
       is written instead of ``completed``
"""

from __future__ import annotations

import enum

EXIT_CODES_HELP = """exit codes:
  0    every row delivered (malformed rows too), or the file already published
  2    usage error
  3    file refused (missing, unreadable, empty, HTML, not a feed): nothing of it sent
  4    delivery failed
  130  interrupted: what was sent is reported, aborted record instead of completed
"""


class ExitCode(enum.IntEnum):
    OK = 0
    USAGE = 2
    REFUSED = 3
    DELIVERY = 4
    INTERRUPTED = 130


class ProducerError(Exception):
    """An error the CLI reports as one line and turns into an exit code."""

    exit_code: ExitCode = ExitCode.DELIVERY

    def __init__(self, message: str) -> None:
        # One line, always: a multi-line reason would break log scraping and the CLI contract.
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self.args[0])


class UsageError(ProducerError):
    exit_code = ExitCode.USAGE


class FileRefusedError(ProducerError):
    """The file is not something we publish; nothing of it was sent."""

    exit_code = ExitCode.REFUSED


class DeliveryFailedError(ProducerError):
    exit_code = ExitCode.DELIVERY
