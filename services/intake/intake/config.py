"""Intake settings beyond the common ones; secrets come from the environment only."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_RATE = "50/second"


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRASSROOTS_INTAKE_", extra="ignore")

    token_pepper: SecretStr = Field(
        validation_alias=AliasChoices("GRASSROOTS_INTAKE_TOKEN_PEPPER", "INTAKE_TOKEN_PEPPER"),
        min_length=16,
        description="Secret mixed into stored credential hashes (HMAC-SHA256).",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Largest request body accepted (larger: 413).",
    )
    max_batch_events: int = Field(
        1000, ge=1, le=100_000, description="Most events in one batched request (more: 413)."
    )
    default_rate: str = Field(
        DEFAULT_RATE,
        description="Requests per credential and replica when the credential sets none, in the "
        "`limits` notation: 50/second, 600/minute.",
    )
    dashboard_credential: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "GRASSROOTS_INTAKE_DASHBOARD_CREDENTIAL", "INTAKE_DASHBOARD_CREDENTIAL"
        ),
        min_length=16,
        description="The credential the reporting dashboard forwards Excel imports with (any "
        "county: the dashboard checks the office's county); registered at start when set.",
    )
