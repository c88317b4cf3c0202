"""Which files are already published: the files topic, read from the beginning to its end.

The files topic is small (compacted, one record per file), so a short-lived consumer without
a group reads it whole. A file is published when the LAST event for its SHA-256 is
``completed``; a ``started`` without a ``completed`` (interrupted) means send it again.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from feed.contract import ContractError, FileCompleted, decode_file_event
from producer.errors import DeliveryFailedError
from producer.settings import Settings


async def published_files(settings: Settings, partitions: set[int]) -> set[str]:
    """SHA-256s whose latest files-topic event is ``completed``.

    ``partitions`` of the files topic come from the caller's producer, whose metadata is
    already fresh (a consumer without a group has no public way to wait for it).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.require_bootstrap(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=settings.request_timeout_ms,
        **settings.kafka_security.client_options(),
    )
    latest: dict[bytes, bool] = {}
    try:
        await consumer.start()
        tps = [TopicPartition(settings.files_topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > await consumer.position(tp)}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batches.items():
                for message in messages:
                    if message.key is not None:
                        latest[message.key] = _is_completed(message.value)
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    except KafkaError as exc:
        raise DeliveryFailedError(f"reading {settings.files_topic}: {exc}") from exc
    finally:
        await consumer.stop()
    return {key.decode("utf-8", "replace") for key, done in latest.items() if done}


def _is_completed(value: bytes | None) -> bool:
    if value is None:  # a tombstone forgets the file
        return False
    try:
        return isinstance(decode_file_event(value), FileCompleted)
    except ContractError:
        return False  # not ours to judge; an unreadable record never marks a file done
