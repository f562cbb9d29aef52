"""Reporting settings beyond the common ones; secrets come from the environment only."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRASSROOTS_", extra="ignore")

    token_pepper: SecretStr = Field(
        validation_alias=AliasChoices("GRASSROOTS_TOKEN_PEPPER", "REPORTING_TOKEN_PEPPER"),
        min_length=16,
        description="Secret mixed into stored token hashes (HMAC-SHA256).",
    )
    max_page_size: int = Field(
        500, ge=1, le=10_000, description="Most rows one API page may ask for (page_size)."
    )
    session_hours: float = Field(
        12, gt=0, le=24 * 30, description="How long a dashboard sign-in lasts (its session)."
    )
    trust_forwarded_proto: bool = Field(
        False,
        description="Behind a TLS-terminating proxy: trust X-Forwarded-Proto to mark the "
        "session cookie Secure (only set this when the proxy overwrites the header).",
    )
    intake_url: str | None = Field(
        None,
        description="The HTTP intake the dashboard's Excel import publishes through "
        "(GRASSROOTS_INTAKE_URL, e.g. http://127.0.0.1:8084); unset: the page says so.",
    )
    intake_credential: SecretStr | None = Field(
        None,
        description="The dashboard's intake credential (GRASSROOTS_INTAKE_CREDENTIAL); the page "
        "publishes only for the signed-in office's county.",
    )
