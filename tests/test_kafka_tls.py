"""Services on a cluster as a province runs one (deploy/cluster.sh, started here): over SASL_SSL
with SCRAM-SHA-512, and over mutual TLS where the certificate is the user; what the cluster
refuses; the topics it holds are replicated three times with min.insync.replicas=2."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from grassroots.contract import ALL_TOPICS
from grassroots.plumbing.kafka import auth_options, make_admin
from grassroots.plumbing.settings import KafkaSettings
from grassroots.simulation import CampaignSimulation
from tests.failover import cluster_for_tests
from tests.harness import REPO, TEST_PORTS, ServiceProcess, admin_connection, eventually

LOG_DIR = REPO / ".local" / "logs" / "tests" / "kafka-tls"
PORT_OFFSET = 30  # off the single-broker services' ports, and the failover test's


@pytest.fixture(scope="module")
def cluster_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """This module's environment is deploy/cluster-env.sh's: SASL_SSL, SCRAM-SHA-512, its CA."""
    environment = cluster_for_tests(request.config)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        yield environment


def mutual_tls(user: str) -> dict[str, str]:
    """A process that is `user` by its client certificate alone (no password)."""
    certs = Path(os.environ["GRASSROOTS_CLUSTER_CERTS"])
    return {
        "GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS": os.environ[
            "GRASSROOTS_CLUSTER_MTLS_BOOTSTRAP_SERVERS"
        ],
        "GRASSROOTS_KAFKA_SECURITY_PROTOCOL": "SSL",
        "GRASSROOTS_KAFKA_USERNAME": "",
        "GRASSROOTS_KAFKA_PASSWORD": "",
        "GRASSROOTS_KAFKA_CERT_FILE": str(certs / "users" / f"{user}.crt"),
        "GRASSROOTS_KAFKA_KEY_FILE": str(certs / "users" / f"{user}.key"),
    }


def settings(**overrides: str) -> KafkaSettings:
    """The current (cluster) settings with some GRASSROOTS_KAFKA_* replaced."""
    values = {
        name.removeprefix("GRASSROOTS_").lower(): value
        for name, value in os.environ.items()
        if name.startswith("GRASSROOTS_KAFKA_")
    }
    values.update({name.removeprefix("GRASSROOTS_").lower(): v for name, v in overrides.items()})
    return KafkaSettings.model_validate(values)


async def connects(access: KafkaSettings, *, bootstrap: str | None = None) -> None:
    """Starts (and stops) a producer with these settings: raises what the cluster refuses."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap or access.kafka_bootstrap_servers,
        **auth_options(access),
        request_timeout_ms=5000,
    )
    try:
        await asyncio.wait_for(producer.start(), timeout=20)
    finally:
        await producer.stop()


@pytest.mark.usefixtures("cluster_env")
async def test_services_consume_over_sasl_ssl_and_over_mutual_tls() -> None:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    # grading: SCRAM-SHA-512 over TLS (the cluster's default); rectification: its certificate.
    grading = ServiceProcess("grading", TEST_PORTS["grading"] + PORT_OFFSET, LOG_DIR)
    rectification = ServiceProcess(
        "rectification",
        TEST_PORTS["rectification"] + PORT_OFFSET,
        LOG_DIR,
        mutual_tls("rectification"),
    )
    simulation = CampaignSimulation(seed=5, county="712001", branches=1, campaign_id="tls-check")
    registration = next(e for e in simulation.events() if e["type"] == "org.branch_registered")
    try:
        for service in (grading, rectification):
            service.start()
        for service in (grading, rectification):
            await asyncio.to_thread(service.wait_healthy, 90)  # database and broker reachable
        # Published as the admin (SASL_SSL); both services consume org.branches.
        producer = AIOKafkaProducer(
            bootstrap_servers=os.environ["GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS"], **auth_options()
        )
        await producer.start()
        try:
            await producer.send_and_wait(
                "org.branches",
                json.dumps(registration, ensure_ascii=False).encode(),
                key=registration["subject"].encode(),
                headers=[("content-type", b"application/cloudevents+json")],
            )
        finally:
            await producer.stop()
        admin = await admin_connection()
        try:
            for schema in ("grading", "rectification"):

                async def received(schema: str = schema) -> bool:
                    found = await admin.fetchval(
                        f"SELECT count(*) FROM {schema}.inbox WHERE source = $1 AND event_id = $2",
                        registration["source"],
                        registration["id"],
                    )
                    return bool(found)

                await eventually(received, within=60)
        finally:
            await admin.close()
    finally:
        grading.stop()
        rectification.stop()


@pytest.mark.usefixtures("cluster_env")
async def test_a_certificate_is_its_user_and_the_acls_apply() -> None:
    access = settings(**mutual_tls("grading"))
    producer = AIOKafkaProducer(
        bootstrap_servers=access.kafka_bootstrap_servers, **auth_options(access)
    )
    await producer.start()
    try:
        await producer.send_and_wait("grading.inputs.dlq", b"{}")  # grading may write there
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait("rectification.results", b"{}")  # not there
    finally:
        await producer.stop()


@pytest.mark.usefixtures("cluster_env")
@pytest.mark.parametrize(
    "refused",
    [
        pytest.param({"GRASSROOTS_KAFKA_PASSWORD": "wrong"}, id="wrong password"),
        pytest.param({"GRASSROOTS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256"}, id="SCRAM-SHA-256"),
        pytest.param({"GRASSROOTS_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, id="no TLS"),
        pytest.param({"GRASSROOTS_KAFKA_CA_FILE": ""}, id="CA not trusted"),
    ],
)
async def test_the_cluster_refuses(refused: dict[str, str]) -> None:
    await connects(settings())  # as configured: accepted
    with pytest.raises((KafkaError, TimeoutError)):
        await connects(settings(**refused))


@pytest.mark.usefixtures("cluster_env")
async def test_mutual_tls_without_a_certificate_is_refused() -> None:
    without = {
        **mutual_tls("grading"),
        "GRASSROOTS_KAFKA_CERT_FILE": "",
        "GRASSROOTS_KAFKA_KEY_FILE": "",
    }
    with pytest.raises((KafkaError, TimeoutError)):
        await connects(settings(**without))


@pytest.mark.usefixtures("cluster_env")
async def test_every_topic_has_three_replicas_and_needs_two_in_sync() -> None:
    admin = make_admin(os.environ["GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS"])
    await admin.start()
    try:
        topics = await admin.describe_topics(list(ALL_TOPICS))
        replicas = {t["topic"]: {len(p["replicas"]) for p in t["partitions"]} for t in topics}
        assert replicas == {topic: {3} for topic in ALL_TOPICS}
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in ALL_TOPICS]
        )
        min_insync = {
            resource[3]: entry[1]
            for response in responses
            for resource in response.resources
            for entry in resource[4]
            if entry[0] == "min.insync.replicas"
        }
        assert min_insync == {topic: "2" for topic in ALL_TOPICS}
    finally:
        await admin.close()
