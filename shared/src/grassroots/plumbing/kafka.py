"""Kafka: explicit topic creation, the idempotent producer, the FastStream broker."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from grassroots.contract import ALL_TOPICS, dlq_topic
from grassroots.plumbing.settings import KafkaSettings

log = logging.getLogger(__name__)

# Large enough for a dead-lettered record of a few MB plus our headers.
MAX_REQUEST_BYTES = 5 * 1024 * 1024


def broker_security(access: KafkaSettings | None = None) -> BaseSecurity | None:
    """FastStream's description of how to reach the broker, from the settings (read from the
    environment when not given). `auth_options` derives every other client's options from it,
    so the consumer, the producers, the admin client and the broker never differ."""
    access = access or KafkaSettings()
    protocol = access.kafka_protocol
    if protocol == "PLAINTEXT":
        return None
    ssl_context = None
    if protocol.endswith("SSL"):
        # Verifies the broker's certificate and host name; the client certificate is mTLS.
        ssl_context = create_ssl_context(
            cafile=access.kafka_ca_file,
            certfile=access.kafka_cert_file,
            keyfile=access.kafka_key_file,
        )
    if protocol == "SSL":
        return BaseSecurity(ssl_context=ssl_context, use_ssl=True)
    username = access.kafka_username or ""
    password = access.kafka_password.get_secret_value() if access.kafka_password else ""
    use_ssl = protocol == "SASL_SSL"
    sasl = {
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
        "PLAIN": SASLPlaintext,
    }[access.kafka_sasl_mechanism]
    return sasl(username=username, password=password, ssl_context=ssl_context, use_ssl=use_ssl)


def auth_options(access: KafkaSettings | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments for this process's connection: security protocol, SASL
    mechanism and credentials, TLS context (read from the environment when not given)."""
    options = parse_security(broker_security(access))
    # FastStream spells "no TLS" as ssl_context=None; aiokafka's own default is the same.
    return {name: value for name, value in options.items() if value is not None}


# How old the cluster's metadata (who leads each partition) may get before a client asks again.
# aiokafka's consumer resets a partition without a committed offset by asking its leader; when
# that broker answers "not the leader" it only waits and asks the same broker again, without
# asking who leads now — until the periodic refresh, five minutes by default. A failover test
# waited those five minutes once; at 15 s a stale leader costs 15 s at most.
METADATA_MAX_AGE_MS = 15_000


def make_consumer(bootstrap_servers: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer with this process's credentials (no group unless `group_id` is given)."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        **auth_options(),
        **{"metadata_max_age_ms": METADATA_MAX_AGE_MS, **options},
    )


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
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    partitions: int,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
) -> list[str]:
    """Create the topics that do not exist yet (auto-creation is off on our brokers), with the
    replication of the settings (GRASSROOTS_KAFKA_REPLICATION_FACTOR / _MIN_INSYNC_REPLICAS)
    unless given. Existing topics are left as they are."""
    access = KafkaSettings()
    replicas = replication_factor or access.kafka_replication_factor
    min_insync = min_insync_replicas or access.kafka_min_insync_replicas
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
                            replication_factor=replicas,
                            topic_configs={
                                "max.message.bytes": str(MAX_REQUEST_BYTES),
                                # With acks=all (our producers), a write needs this many copies.
                                "min.insync.replicas": str(min_insync),
                            },
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
        # 16 KB (the default) holds some forty events: the intake's and the relay's batches of
        # hundreds would go out in many small requests, each waiting for every replica.
        max_batch_size=256 * 1024,
        max_request_size=MAX_REQUEST_BYTES,
        request_timeout_ms=30000,
    )


def make_broker(bootstrap_servers: str, *, client_id: str) -> KafkaBroker:
    return KafkaBroker(
        # FastStream takes a string as one address: a cluster's "a:9092,b:9092" must be a list.
        [server.strip() for server in bootstrap_servers.split(",") if server.strip()],
        security=broker_security(),
        # Topics are created explicitly (`grassroots topics create`, ensure_topics), never by
        # a subscriber — a service's Kafka user may not create topics at all.
        allow_auto_create_topics=False,
        client_id=client_id,
        enable_idempotence=True,
        max_request_size=MAX_REQUEST_BYTES,
        metadata_max_age_ms=METADATA_MAX_AGE_MS,  # its consumers too (see the constant)
        logger=logging.getLogger(f"grassroots.{client_id}.broker"),
    )
