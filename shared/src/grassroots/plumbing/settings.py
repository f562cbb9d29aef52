"""Service settings from the environment (GRASSROOTS_*); secrets never have defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRASSROOTS_", extra="ignore")

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers.")
    kafka_username: str | None = Field(
        None, description="This service's Kafka user (SCRAM-SHA-256); none: plain connection."
    )
    kafka_password: SecretStr | None = Field(None, description="Its password.")
    database_url: SecretStr = Field(
        description="This service's own role, e.g. postgresql://grading:…"
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    topic_partitions: int = Field(4, ge=1, le=256, description="Partitions of topics we create.")
    consumer_batch_size: int = Field(2000, ge=1, le=10_000)
    consumer_instance_id: str | None = Field(
        None, description="Static group membership id; one per replica (default: <service>-0)."
    )
    db_pool_size: int = Field(5, ge=2, le=50)
    outbox_batch_size: int = Field(1000, ge=1, le=10_000)
    log_level: str = "INFO"
    sweep_interval_seconds: float = Field(
        30.0, gt=0, description="How often time-driven work (overdue, reminders) runs."
    )
    clock_file: Path | None = Field(
        None,
        description="Tests and drills only: read 'now' (RFC 3339) from this file instead of "
        "the system clock, so time-driven work can be driven deterministically.",
    )
