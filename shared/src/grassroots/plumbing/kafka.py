"""Kafka: explicit topic creation, the idempotent producer, the FastStream broker."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.security import SASLScram256
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from grassroots.contract import ALL_TOPICS, dlq_topic

log = logging.getLogger(__name__)

# Large enough for a dead-lettered record of a few MB plus our headers.
MAX_REQUEST_BYTES = 5 * 1024 * 1024


class KafkaAccess(BaseSettings):
    """Who this process is to the broker: GRASSROOTS_KAFKA_USERNAME / _PASSWORD (SCRAM-SHA-256
    over SASL_PLAINTEXT on loopback) — each service its own user, limited by ACLs. Without a
    username the connection is plain and anonymous (brokers without SASL)."""

    model_config = SettingsConfigDict(env_prefix="GRASSROOTS_KAFKA_", extra="ignore")

    username: str | None = None
    password: SecretStr | None = None


def auth_options() -> dict[str, Any]:
    """aiokafka keyword arguments for this process's credentials (read from the environment)."""
    access = KafkaAccess()
    if not access.username:
        return {}
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": access.username,
        "sasl_plain_password": access.password.get_secret_value() if access.password else "",
    }


def make_consumer(bootstrap_servers: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer with this process's credentials (no group unless `group_id` is given)."""
    return AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, **auth_options(), **options)


def make_admin(bootstrap_servers: str, **options: Any) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **auth_options(), **options)


# Several services consume the same topic; a record that breaks the contract is dead-lettered
# once, by the topic's owner, so the county office sees each bad record once. The others skip it.
DEAD_LETTER_OWNERS = {"grading.inputs": "grading", "rectification.inputs": "rectification"}
DEFAULT_DEAD_LETTER_OWNER = "reporting"  # it reads every topic


def dead_letter_owner(topic: str) -> str:
    return DEAD_LETTER_OWNERS.get(topic, DEFAULT_DEAD_LETTER_OWNER)


def platform_topics() -> list[str]:
    """Every topic of the contract and its dead-letter topic."""
    return [name for topic in ALL_TOPICS for name in (topic, dlq_topic(topic))]


async def ensure_topics(
    bootstrap_servers: str, topics: Iterable[str], *, partitions: int
) -> list[str]:
    """Create the topics that do not exist yet (auto-creation is off on our brokers)."""
    admin = make_admin(bootstrap_servers, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in topics if topic not in existing]
        if missing:
            # Another service may create one between our list and create: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            topic,
                            num_partitions=partitions,
                            replication_factor=1,
                            topic_configs={"max.message.bytes": str(MAX_REQUEST_BYTES)},
                        )
                        for topic in missing
                    ]
                )
        return missing
    finally:
        await admin.close()


def make_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    """Idempotent producer: acks=all, no duplicates from retries, order kept per partition."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        **auth_options(),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_request_size=MAX_REQUEST_BYTES,
        request_timeout_ms=30000,
    )


def make_broker(bootstrap_servers: str, *, client_id: str) -> KafkaBroker:
    access = KafkaAccess()
    security = None
    if access.username:
        security = SASLScram256(
            username=access.username,
            password=access.password.get_secret_value() if access.password else "",
        )
    return KafkaBroker(
        bootstrap_servers,
        security=security,
        # Topics are created explicitly (`grassroots topics create`, ensure_topics), never by
        # a subscriber — a service's Kafka user may not create topics at all.
        allow_auto_create_topics=False,
        client_id=client_id,
        enable_idempotence=True,
        max_request_size=MAX_REQUEST_BYTES,
        logger=logging.getLogger(f"grassroots.{client_id}.broker"),
    )
