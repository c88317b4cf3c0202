"""Before the first send: the login check, and the topics created when missing (rows topic
with N partitions, files topic compacted)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from feed.kafka_security import LoginRefusedError, check_login
from producer.errors import DeliveryFailedError, UsageError
from producer.settings import Settings

_ALREADY_EXISTS = TopicAlreadyExistsError.errno


async def check_kafka_login(settings: Settings) -> None:
    """A refused login or an untrusted certificate is a usage error (exit 2), said in one
    line, instead of aiokafka's "Unable to bootstrap" after its retries."""
    bootstrap = settings.require_bootstrap()
    try:
        await check_login(bootstrap, settings.kafka_security, settings.request_timeout_ms / 1000)
    except LoginRefusedError as exc:
        raise UsageError(str(exc)) from None
    except (OSError, KafkaError, TimeoutError) as exc:
        raise DeliveryFailedError(f"Kafka at {bootstrap}: {type(exc).__name__}: {exc}") from exc


async def ensure_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.require_bootstrap(),
        request_timeout_ms=settings.request_timeout_ms,
        **settings.kafka_security.client_options(),
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
