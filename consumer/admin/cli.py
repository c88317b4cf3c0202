"""`consumer run | status | export-raw | migrate | dlq | rebuild | maintain | history`:
settings from the environment, flags override."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

import asyncpg

from consumer.admin.archive_cli import add_archive_parser, run_archive
from consumer.admin.dlq_cli import add_dlq_parser, run_dlq
from consumer.admin.export_cli import add_export_parser, run_export
from consumer.admin.history_cli import add_history_parser, run_history
from consumer.admin.maintain_cli import add_maintain_parser, run_maintain
from consumer.admin.migrate_cli import add_migrate_parser, run_migrate
from consumer.admin.rebuild_cli import add_rebuild_parser, run_rebuild
from consumer.admin.status_cli import add_status_parser, run_status
from consumer.config import membership
from consumer.config.errors import ConfigError
from consumer.config.settings import Settings, SettingsError
from consumer.observe import logs
from consumer.service.service import (
    FORCED_EXIT_CODE,
    CannotConnectError,
    Service,
    StartupInterruptedError,
)

log = logging.getLogger("consumer")


class _Parser(argparse.ArgumentParser):
    """A usage error is one line naming the problem (exit 2), not the whole usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="consumer", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="consume the row and files topics into PostgreSQL")
    run.add_argument(
        "--bootstrap-servers", dest="kafka_bootstrap", metavar="BOOTSTRAP_SERVERS",
        help="Kafka bootstrap (env VINOPS_KAFKA_BOOTSTRAP)",
    )  # fmt: skip
    run.add_argument("--topic", help="row topic (env VINOPS_TOPIC)")
    run.add_argument("--files-topic", help="files topic (env VINOPS_FILES_TOPIC)")
    run.add_argument("--dlq-topic", help="dead-letter topic (env VINOPS_DLQ_TOPIC)")
    run.add_argument("--group-id", help="consumer group (env VINOPS_GROUP_ID)")
    run.add_argument("--consumer-name", help="name in logs, DLQ headers, parse_errors")
    run.add_argument(
        "--group-instance-id",
        help="static member id, stable across restarts, unique in the group; 'none' = dynamic "
        "membership (env VINOPS_GROUP_INSTANCE_ID; default <hostname>-<slot>)",
    )
    run.add_argument("--batch-size", type=int, help="env VINOPS_BATCH_SIZE")
    run.add_argument("--batch-max-wait-ms", type=int, help="env VINOPS_BATCH_MAX_WAIT_MS")
    run.add_argument("--metrics-host", help="env VINOPS_METRICS_HOST")
    run.add_argument("--metrics-port", type=int, help="0 = ephemeral (env VINOPS_METRICS_PORT)")
    run.add_argument("--log-level", help="env VINOPS_LOG_LEVEL")
    run.add_argument("--log-format", choices=("json", "text"), help="env VINOPS_LOG_FORMAT")
    run.add_argument(
        "--startup-timeout", dest="startup_timeout_s", type=float, metavar="SECONDS",
        help="exit 5 when PostgreSQL or Kafka is still unreachable after this long at start "
        "(env VINOPS_STARTUP_TIMEOUT_S, default 120, 0 = wait for ever)",
    )  # fmt: skip
    run.add_argument(
        "--exit-when-idle", dest="exit_when_idle_s", type=float, metavar="SECONDS",
        help="exit 0 once idle this long and every partition of the topics is committed",
    )  # fmt: skip
    run.add_argument(
        "--no-skip-known", dest="skip_known", action="store_false", default=None,
        help="decode, map and upsert every row, none skipped as an applied content: a "
        "reference run (env VINOPS_SKIP_KNOWN=0)",
    )  # fmt: skip
    add_status_parser(sub)
    add_export_parser(sub)
    add_migrate_parser(sub)
    add_dlq_parser(sub)
    add_rebuild_parser(sub)
    add_history_parser(sub)
    add_maintain_parser(sub)
    add_archive_parser(sub)
    return p


# The `run` flags that override a setting of the same name (each flag's dest is that name).
_RUN_FLAGS = (
    "kafka_bootstrap", "topic", "files_topic", "dlq_topic", "group_id", "batch_size",
    "batch_max_wait_ms", "metrics_host", "metrics_port", "log_level", "log_format",
    "exit_when_idle_s", "startup_timeout_s", "skip_known",
)  # fmt: skip


def settings_from(args: argparse.Namespace, env: Mapping[str, str]) -> Settings:
    name = env.get("VINOPS_CONSUMER_NAME") or f"{socket.gethostname()}-{os.getpid()}"
    configured = args.group_instance_id or env.get("VINOPS_GROUP_INSTANCE_ID")
    settings = Settings.from_env(
        env,
        **{flag: getattr(args, flag) for flag in _RUN_FLAGS},
        consumer_name=args.consumer_name or name,
        group_instance_id=membership.instance_id(args.group_instance_id)
        if args.group_instance_id
        else None,
    )
    if configured:
        membership.hold(settings.group_instance_id, settings.group_id)
        return settings
    # A slot is claimed only for a run that uses it, once its group id is known.
    return settings.with_overrides(group_instance_id=membership.resolve(None, settings.group_id))


async def run_service(settings: Settings) -> int:
    service = Service(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.request_exit)
    try:
        async with service:
            code = await service.run()
    except StartupInterruptedError as exc:
        log.info("stopped during start-up, while waiting for %s", exc)
        code = 0
    # A second signal cut the shutdown short: 130 (the shell's code for an interrupt).
    return FORCED_EXIT_CODE if service.forced else code


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    environ = os.environ if env is None else env
    try:
        if args.command == "run":
            settings = settings_from(args, environ)
            logs.setup(settings.log_level, settings.log_format)
            return asyncio.run(run_service(settings))
        if args.command == "status":
            return asyncio.run(run_status(args, environ))
        if args.command == "export-raw":
            return asyncio.run(run_export(args, environ))
        if args.command == "dlq":
            return asyncio.run(run_dlq(args, environ))
        if args.command == "rebuild":
            return asyncio.run(run_rebuild(args, environ))
        if args.command == "history":
            return asyncio.run(run_history(args, environ))
        if args.command == "maintain":
            return asyncio.run(run_maintain(args, environ))
        if args.command == "archive":
            return asyncio.run(run_archive(args, environ))
        return asyncio.run(run_migrate(args, environ))
    except (SettingsError, ConfigError) as exc:
        print(f"consumer {args.command}: {exc}", file=sys.stderr)
        return 2
    except CannotConnectError as exc:
        print(f"consumer {args.command}: {exc}", file=sys.stderr)
        return CannotConnectError.exit_code
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"consumer {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
