"""Topic creation when missing: rows topic with N partitions, files topic compacted."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from producer.errors import DeliveryFailedError
from producer.settings import Settings

_ALREADY_EXISTS = TopicAlreadyExistsError.errno


async def ensure_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.require_bootstrap(),
        request_timeout_ms=settings.request_timeout_ms,
    )
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(settings.topic, settings.partitions, settings.replication_factor),
            # One partition keeps the ledger ordered; compaction keeps one record per file.
            NewTopic(
                settings.files_topic,
                1,
                settings.replication_factor,
                topic_configs={"cleanup.policy": "compact"},
            ),
        ]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, *rest in response.topic_errors:
                # Another producer may have created it in between: that is success.
                if code not in (0, _ALREADY_EXISTS):
                    detail = rest[0] if rest and rest[0] else f"error code {code}"
                    raise DeliveryFailedError(f"cannot create topic {name}: {detail}")
    except TopicAlreadyExistsError:
        pass
    except KafkaError as exc:
        raise DeliveryFailedError(f"Kafka at {settings.bootstrap_servers}: {exc}") from exc
    finally:
        await admin.close()
