"""Kafka least privilege: every client authenticates (SCRAM-SHA-256) and each service may read
only the topics it consumes and write only the topics it produces (deploy/kafka/acls.txt)."""

from __future__ import annotations

import os

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from tests.harness import bootstrap


def credentials(user: str) -> dict[str, str]:
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": user,
        "sasl_plain_password": os.environ[f"KAFKA_{user.upper()}_PASSWORD"],
    }


async def send(topic: str, **options: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap(), request_timeout_ms=5000, **options)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{}", key=b"acl-test")
    finally:
        await producer.stop()


@pytest.mark.parametrize(
    ("user", "topic"),
    [
        ("grading", "org.branches"),  # consumes it; never writes it
        ("grading", "rectification.results"),  # another service's results
        ("reporting", "grading.results"),  # reporting only reads
        ("county", "grading.results"),  # county systems publish inputs, not results
    ],
)
async def test_a_user_cannot_write_what_it_does_not_produce(user: str, topic: str) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await send(topic, **credentials(user))


@pytest.mark.parametrize(
    ("user", "topic"),
    [
        ("grading", "grading.inputs.dlq"),
        ("county", "grading.inputs"),
        ("rectification", "rectification.inputs.dlq"),
    ],
)
async def test_a_user_can_write_what_it_produces(user: str, topic: str) -> None:
    await send(topic, **credentials(user))


async def test_a_client_without_credentials_is_not_let_in() -> None:
    with pytest.raises(KafkaConnectionError):
        await send("grading.inputs")


async def test_a_wrong_password_is_refused() -> None:
    wrong = {**credentials("county"), "sasl_plain_password": "not-the-password"}
    with pytest.raises(KafkaConnectionError):
        await send("grading.inputs", **wrong)
