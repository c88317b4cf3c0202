"""Dead letters as an operator sees them: read back from the dead-letter topic, with the
refused message's key and headers told apart from what the consumer added (consumer/store/dlq.py
writes the original headers first, then its own, starting with ``vinops-error-class``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from feed.contract import H_FILE_ID, H_ROW_NO, H_SHA256
from feed.kafka_security import KafkaSecurity

Header = tuple[str, bytes]
FIRST_ADDED = "vinops-error-class"  # dlq.dead_letter_headers: the first header it adds
PREVIEW_BYTES = 40
READ_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Letter:
    partition: int  # in the dead-letter topic
    offset: int
    key: bytes | None
    value: bytes  # as in the letter: cut when ``cut``
    original_headers: tuple[Header, ...]
    added: dict[str, str]  # the consumer's headers, decoded

    def _int(self, name: str) -> int | None:
        text = self.added.get(name)
        return int(text) if text and text.lstrip("-").isdigit() else None

    @property
    def reason(self) -> str:
        return self.added.get("vinops-reason", "")

    @property
    def error(self) -> str:
        return self.added.get("vinops-error", "")

    @property
    def source(self) -> tuple[str, int, int] | None:
        """(topic, partition, offset) of the refused message, when the letter says."""
        topic = self.added.get("vinops-source-topic")
        partition, offset = self._int("vinops-source-partition"), self._int("vinops-source-offset")
        if not topic or partition is None or offset is None:
            return None
        return (topic, partition, offset)

    def _original(self, name: str) -> str | None:
        found = [v for k, v in self.original_headers if k == name]
        return found[0].decode("utf-8", "replace") if found else None

    @property
    def file_id(self) -> str | None:
        return self._original(H_FILE_ID)

    @property
    def sha256(self) -> str | None:
        return self._original(H_SHA256)

    @property
    def row_no(self) -> int | None:
        text = self._original(H_ROW_NO)
        return int(text) if text and text.isdigit() else None

    @property
    def cut(self) -> bool:
        return "vinops-value-cut-to" in self.added

    @property
    def size(self) -> int:
        """The refused message's size in bytes (a cut letter says it in a header)."""
        whole = self._int("vinops-value-bytes")
        return whole if self.cut and whole is not None else len(self.value)

    @property
    def value_sha256(self) -> str | None:
        return self.added.get("vinops-value-sha256")

    @property
    def stored_parse_error(self) -> str | None:
        return self.added.get("vinops-stored-parse-error")

    def preview(self) -> str:
        """The first bytes, printable whatever they are (escapes for the rest)."""
        head = self.value[:PREVIEW_BYTES].decode("utf-8", "backslashreplace")
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in head)


def letter_of(record: Any) -> Letter:
    headers: list[Header] = list(record.headers or ())
    names = [k for k, _ in headers]
    split = names.index(FIRST_ADDED) if FIRST_ADDED in names else len(headers)
    return Letter(
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value or b"",
        original_headers=tuple(headers[:split]),
        added={k: v.decode("utf-8", "replace") for k, v in headers[split:]},
    )


async def topic_partitions(bootstrap: str, topic: str, security: KafkaSecurity | None) -> list[int]:
    """The topic's partitions ([] when it does not exist). A consumer reports only those
    of topics it subscribed to, so the admin client asks."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, **(security or KafkaSecurity()).client_options()
    )
    try:
        await admin.start()
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for d in described if d.get("error_code") == 0
                  for p in d["partitions"])  # fmt: skip


async def read_letters(
    bootstrap: str, topic: str, security: KafkaSecurity | None = None
) -> list[Letter]:
    """Every letter of the topic from the beginning to its end when the read starts, in
    (partition, offset) order; [] when the topic does not exist."""
    tps = [TopicPartition(topic, p) for p in await topic_partitions(bootstrap, topic, security)]
    if not tps:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        **(security or KafkaSecurity()).client_options(),
    )
    try:
        await consumer.start()  # inside: a failed start still closes its client below
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took over {READ_TIMEOUT_S:.0f} s")
            for tp, batch in (await consumer.getmany(*tps, timeout_ms=500)).items():
                records.extend(r for r in batch if r.offset < ends[tp])
    finally:
        await consumer.stop()
    return sorted((letter_of(r) for r in records), key=lambda x: (x.partition, x.offset))
