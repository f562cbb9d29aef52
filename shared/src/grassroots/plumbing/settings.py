"""Service settings from the environment (GRASSROOTS_*); secrets never have defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

KafkaSecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"]
SaslMechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]


class KafkaSettings(BaseSettings):
    """How a process reaches Kafka (every service, the CLI, the tests): GRASSROOTS_KAFKA_*.
    The defaults are the local broker of deploy/infra.sh; a real cluster sets the protocol,
    mechanism and CA (deploy/cluster-env.sh, the Kubernetes manifests)."""

    model_config = SettingsConfigDict(env_prefix="GRASSROOTS_", extra="ignore")

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers.")
    kafka_username: str | None = Field(
        None, description="This process's Kafka user (SASL); none: no SASL (PLAINTEXT or SSL)."
    )
    kafka_password: SecretStr | None = Field(None, description="Its password.")
    kafka_security_protocol: KafkaSecurityProtocol | None = Field(
        None,
        description="PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL. Default: SASL_PLAINTEXT when "
        "a username is set, else PLAINTEXT (the local broker).",
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        "SCRAM-SHA-256",
        description="SCRAM-SHA-256 (the local broker), SCRAM-SHA-512 (Strimzi's KafkaUser) or "
        "PLAIN (only over SASL_SSL).",
    )
    kafka_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA that signed the brokers' certificates (SSL, SASL_SSL); "
        "none: the system's CAs.",
    )
    kafka_cert_file: Path | None = Field(
        None, description="PEM client certificate for mutual TLS (with the key file)."
    )
    kafka_key_file: Path | None = Field(
        None, description="PEM private key of the client certificate (unencrypted)."
    )
    kafka_replication_factor: int = Field(
        1, ge=1, le=16, description="Replicas of each topic the platform creates (3 on a cluster)."
    )
    kafka_min_insync_replicas: int = Field(
        1,
        ge=1,
        le=16,
        description="min.insync.replicas of each topic the platform creates (2 on a cluster of "
        "3): a write is acknowledged only once that many replicas have it.",
    )

    @field_validator(
        "kafka_username",
        "kafka_security_protocol",
        "kafka_ca_file",
        "kafka_cert_file",
        "kafka_key_file",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # An orchestrator (or `VAR= cmd`) often sets a variable to "" to mean "not set".
        return None if value == "" else value

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        protocol = self.kafka_protocol
        if protocol.startswith("SASL") and not self.kafka_username:
            raise ValueError(f"GRASSROOTS_KAFKA_SECURITY_PROTOCOL={protocol} needs a username")
        if (self.kafka_cert_file is None) != (self.kafka_key_file is None):
            raise ValueError("GRASSROOTS_KAFKA_CERT_FILE and _KEY_FILE go together")
        if self.kafka_cert_file is not None and not protocol.endswith("SSL"):
            raise ValueError(f"a client certificate needs SSL or SASL_SSL, not {protocol}")
        if self.kafka_sasl_mechanism == "PLAIN" and protocol == "SASL_PLAINTEXT":
            raise ValueError("SASL PLAIN sends the password as is: use it over SASL_SSL only")
        if self.kafka_min_insync_replicas > self.kafka_replication_factor:
            raise ValueError("min.insync.replicas cannot exceed the replication factor")
        return self

    @property
    def kafka_protocol(self) -> KafkaSecurityProtocol:
        """The protocol in effect (the setting, or its default)."""
        if self.kafka_security_protocol is not None:
            return self.kafka_security_protocol
        return "SASL_PLAINTEXT" if self.kafka_username else "PLAINTEXT"


class ServiceSettings(KafkaSettings):
    model_config = SettingsConfigDict(env_prefix="GRASSROOTS_", extra="ignore")

    database_url: SecretStr = Field(
        description="This service's own role, e.g. postgresql://grading:…"
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(8080, ge=1, le=65535, description="Port the HTTP API listens on.")
    topic_partitions: int = Field(4, ge=1, le=256, description="Partitions of topics we create.")
    consumer_batch_size: int = Field(
        2000, ge=1, le=10_000, description="Most records applied in one database transaction."
    )
    consumer_instance_id: str | None = Field(
        None, description="Static group membership id; one per replica (default: <service>-0)."
    )
    db_pool_size: int = Field(5, ge=2, le=50, description="Database connections, at most.")
    outbox_batch_size: int = Field(
        1000, ge=1, le=10_000, description="Most outbox rows the relay publishes at once."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severe level logged: DEBUG, INFO, WARNING or ERROR."
    )
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="json: one JSON object a line; text: for a person; auto: text when "
        "standard error is a terminal, else JSON.",
    )
    startup_wait_seconds: float = Field(
        120.0,
        gt=0,
        description="How long a starting service waits for PostgreSQL and Kafka before it gives "
        "up with one line saying which does not answer (exit status 2).",
    )
    sweep_interval_seconds: float = Field(
        30.0, gt=0, description="How often time-driven work (overdue, reminders) runs."
    )
    clock_file: Path | None = Field(
        None,
        description="Tests and drills only: read 'now' (RFC 3339) from this file instead of "
        "the system clock, so time-driven work can be driven deterministically.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value
