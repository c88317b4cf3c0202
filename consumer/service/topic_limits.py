"""What each topic accepts (``max.message.bytes``), read from the broker at start.

Sizes known up front instead of learnt from a refusal: the dead-letter producer sends no
record the topic would refuse, and the consumer fetches any batch a topic can hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from feed.kafka_security import KafkaSecurity

MAX_MESSAGE_BYTES = "max.message.bytes"
# Kafka's default (message.max.bytes): assumed for a topic the broker does not describe yet.
KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588
# aiokafka's own defaults, kept as floors: a fetch never asks for less than before.
MIN_PARTITION_FETCH_BYTES = 4 * 1024 * 1024
MIN_FETCH_BYTES = 52_428_800


def parse_limits(resources: Iterable[tuple[object, ...]]) -> dict[str, int]:
    """``DescribeConfigsResponse.resources`` -> topic -> max.message.bytes (described ones)."""
    limits: dict[str, int] = {}
    for error_code, _message, _type, name, entries, *_ in resources:
        if error_code != 0 or not isinstance(entries, list):
            continue
        for entry in entries:
            if entry[0] == MAX_MESSAGE_BYTES and entry[1] is not None:
                limits[str(name)] = int(entry[1])
    return limits


async def max_message_bytes(
    bootstrap: str, topics: Iterable[str], security: KafkaSecurity | None = None
) -> dict[str, int]:
    """Each topic's max.message.bytes; Kafka's default for a topic that does not exist yet."""
    wanted = list(dict.fromkeys(topics))
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, **(security or KafkaSecurity()).client_options()
    )
    await admin.start()
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t, {MAX_MESSAGE_BYTES: None}) for t in wanted]
        )
    finally:
        await admin.close()
    found: dict[str, int] = {}
    for response in responses:
        found.update(parse_limits(response.resources))
    return {t: found.get(t, KAFKA_DEFAULT_MAX_MESSAGE_BYTES) for t in wanted}


def fetch_sizes(limits: Mapping[str, int]) -> tuple[int, int]:
    """(max_partition_fetch_bytes, fetch_max_bytes) that fetch any batch these topics hold.

    A record batch is at most max.message.bytes on the broker; a fetch limit below it
    leaves the partition stuck on that batch (aiokafka: RecordTooLargeError).
    """
    largest = max(limits.values(), default=KAFKA_DEFAULT_MAX_MESSAGE_BYTES)
    partition = max(MIN_PARTITION_FETCH_BYTES, largest)
    return partition, max(MIN_FETCH_BYTES, partition)
