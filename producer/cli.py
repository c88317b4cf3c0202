"""``producer publish [OPTIONS] FILE...``: publish Copart CSV files to Kafka, one message a row.

Exit codes:
  0    every row of every file delivered (malformed rows included, counted), or the file
       skipped as already published
  2    usage error (bad option, no bootstrap servers)
  3    a file was refused (missing, unreadable, empty, HTML page, no lot-number column,
       website search export); nothing of that file was sent
  4    delivery failed (Kafka unreachable, a send not acknowledged, the file could not be
       read to its end); an ``aborted`` record is sent, best effort
  130  interrupted (Ctrl-C): a summary of what was sent, an ``aborted`` record (best
       effort) instead of ``completed``

Every error is one line on stderr. With ``--json`` stdout carries one JSON object per file.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

import orjson

from feed.contract import DEFAULT_FILES_TOPIC, DEFAULT_ROW_TOPIC
from producer.errors import EXIT_CODES_HELP, ExitCode, ProducerError
from producer.feedfile import FeedFile, inspect_file
from producer.ledger import published_files
from producer.progress import Progress, Summary
from producer.publish import Counts, Publisher, read_counts
from producer.settings import Settings


class _Parser(argparse.ArgumentParser):
    """A usage error is one line naming the problem (exit 2), not the whole usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="producer", description="vinops CSV producer")
    commands = parser.add_subparsers(dest="command", required=True)
    publish = commands.add_parser(
        "publish",
        help="publish CSV files, one Kafka message per row",
        description="Publish Copart lot CSV files to Kafka, one message per row.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    publish.add_argument("files", metavar="FILE", nargs="+", type=Path)
    publish.add_argument(
        "--bootstrap-servers", help="Kafka bootstrap servers (env VINOPS_KAFKA_BOOTSTRAP)"
    )
    publish.add_argument("--topic", help=f"rows topic (env VINOPS_TOPIC, {DEFAULT_ROW_TOPIC})")
    publish.add_argument(
        "--files-topic", help=f"files topic (env VINOPS_FILES_TOPIC, {DEFAULT_FILES_TOPIC})"
    )
    publish.add_argument(
        "--partitions", type=int, help="partitions of the rows topic when created (6)"
    )
    publish.add_argument("--force", action="store_true", help="re-send a published file")
    publish.add_argument(
        "--full-snapshot",
        action="store_true",
        help="each FILE lists every lot for sale: lots it does not list are marked removed",
    )
    publish.add_argument(
        "--dry-run", action="store_true", help="read, validate and report; send nothing"
    )
    publish.add_argument("--json", action="store_true", help="one JSON summary per file")
    return parser


class Run:
    """One invocation: refusals first, then each file in turn."""

    def __init__(self, settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO):
        self.settings = settings
        self.args = args
        self.out = out
        self.err = err
        self.code = ExitCode.OK
        self.current: tuple[FeedFile, Counts, float] | None = None

    def fail(self, error: ProducerError) -> None:
        print(f"producer: {error.message}", file=self.err)
        self.code = max(self.code, error.exit_code)

    def report(self, summary: Summary) -> None:
        text = orjson.dumps(summary.as_json()).decode() if self.args.json else summary.line()
        print(text, file=self.out, flush=True)

    def summary(self, feed: FeedFile, counts: Counts, seconds: float, status: str) -> Summary:
        return Summary(
            file=str(feed.path),
            sha256=feed.sha256,
            file_id=str(feed.file_id),
            dialect=feed.layout.dialect.value,
            encoding=feed.scan.encoding,
            rows=counts.confirmed if status != "dry-run" else counts.rows,
            malformed=counts.malformed,
            skipped=status == "skipped",
            seconds=round(seconds, 3),
            blank=counts.blank,
            oversized=counts.oversized,
            status=status,
        )

    def inspect(self) -> list[FeedFile]:
        feeds = []
        for path in self.args.files:
            try:
                feeds.append(inspect_file(path))
            except ProducerError as exc:
                self.fail(exc)
        return feeds

    async def main(self) -> None:
        feeds = self.inspect()
        if self.args.dry_run:
            for feed in feeds:
                self.dry_run(feed)
            return
        if not feeds:
            return
        async with Publisher(self.settings) as publisher:
            files_partitions = await publisher.partitions_for(self.settings.files_topic)
            done = await published_files(self.settings, files_partitions)
            for feed in feeds:
                counts = Counts()
                if feed.sha256 in done and not self.args.force:
                    self.report(self.summary(feed, counts, 0.0, "skipped"))
                    continue
                self.current = (feed, counts, time.monotonic())
                progress = Progress(self.err, feed.path.name, feed.scan.size)
                try:
                    seconds = await publisher.publish(
                        feed, counts, progress, full_snapshot=self.args.full_snapshot
                    )
                finally:
                    progress.close()
                self.current = None
                done.add(feed.sha256)
                self.report(self.summary(feed, counts, seconds, "published"))

    def dry_run(self, feed: FeedFile) -> None:
        counts = Counts()
        start = time.monotonic()
        progress = Progress(self.err, feed.path.name, feed.scan.size)
        try:
            read_counts(feed, counts, progress, self.settings.max_row_bytes)
        finally:
            progress.close()
        self.report(self.summary(feed, counts, time.monotonic() - start, "dry-run"))

    def interrupted(self) -> None:
        self.code = ExitCode.INTERRUPTED
        if self.current is None:
            print("producer: interrupted", file=self.err)
            return
        feed, counts, start = self.current
        print(
            f"producer: interrupted: {feed.path}: {counts.confirmed:,} of {counts.rows:,} "
            "rows confirmed; aborted, no completed record: the file will be sent again",
            file=self.err,
        )
        self.report(self.summary(feed, counts, time.monotonic() - start, "interrupted"))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # aiokafka logs connection retries as warnings; without a handler Python's last-resort
    # handler would print them, breaking the one-line-error contract. Our errors say it all.
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    run: Run | None = None
    try:
        settings = Settings.from_env(
            os.environ,
            bootstrap_servers=args.bootstrap_servers,
            topic=args.topic,
            files_topic=args.files_topic,
            partitions=args.partitions,
        )
        if not args.dry_run:
            settings.require_bootstrap()
        run = Run(settings, args, sys.stdout, sys.stderr)
        asyncio.run(run.main())
    except ProducerError as exc:
        if run is None:
            print(f"producer: {exc.message}", file=sys.stderr)
            return int(exc.exit_code)
        run.fail(exc)
    except KeyboardInterrupt:
        if run is None:
            return int(ExitCode.INTERRUPTED)
        run.interrupted()
    return int(run.code)


if __name__ == "__main__":
    sys.exit(main())
