"""The notification service's own settings (GRASSROOTS_NOTIFICATION_*), beside ServiceSettings.

Every field has a default, so the service starts without any of them; the webhook signing
secret is read from WEBHOOK_SIGNING_SECRET and the inbox tokens' key from INBOX_TOKEN_SECRET
(deploy/env.sh exports both); neither is ever logged. Who issues each county's circulars is in
the county configuration file, GRASSROOTS_COUNTIES_FILE (counties.py), read at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from grassroots.contract.common import Identifier
from notification.counties import DEFAULT_FILE, Counties, load_counties

DayCount = Annotated[int, Field(ge=0, le=366)]


class WebhookEndpoint(BaseModel):
    """A county system that receives every notification of its county as signed JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Identifier = Field(description="The endpoint's name; the `recipient` of its outcomes.")
    url: AnyHttpUrl = Field(description="Where to POST.")


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRASSROOTS_NOTIFICATION_", extra="ignore")

    # Email over SMTP.
    smtp_host: str = Field("localhost", description="SMTP server.")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port (465: implicit TLS).")
    smtp_starttls: bool | None = Field(
        None, description="true: require STARTTLS; false: never; unset: when the server offers it."
    )
    smtp_use_tls: bool = Field(False, description="Implicit TLS from the first byte (port 465).")
    smtp_username: str | None = Field(None, description="SMTP AUTH user; no AUTH when unset.")
    smtp_password: SecretStr | None = Field(None, description="SMTP AUTH password.")
    smtp_cert_bundle: Path | None = Field(None, description="CA file to verify the server with.")
    smtp_validate_certs: bool = Field(
        True, description="Verify the SMTP server's certificate (false only for a test server)."
    )
    smtp_local_hostname: str = Field(
        "grassroots-notification", description="Name given in EHLO (avoids a DNS lookup)."
    )
    mail_from: str = Field("grassroots@localhost", description="Envelope and header sender.")
    mail_from_name: str = Field("基层组织建设年工作平台", description="Sender's display name.")

    # Webhooks to county systems: {"610526": [{"name": "county-office", "url": "http://…"}]};
    # "*" lists endpoints that receive the notifications of every county.
    webhooks: dict[str, list[WebhookEndpoint]] = Field(
        default_factory=dict,
        description='JSON: county code (or "*" for every county) to the county systems that '
        'receive its notifications, e.g. {"610526": [{"name": "county-office", "url": '
        '"http://…"}]}.',
    )
    webhook_signing_secret: SecretStr | None = Field(
        None, validation_alias="WEBHOOK_SIGNING_SECRET", description="HMAC-SHA256 key."
    )
    # The inbox API: closed (503) until it is set; see inbox_tokens.
    inbox_token_secret: SecretStr | None = Field(
        None, validation_alias="INBOX_TOKEN_SECRET", description="Key of the inbox tokens."
    )

    # Delivery.
    max_attempts: int = Field(6, ge=1, le=50, description="Attempts before notification.failed.")
    backoff_initial_seconds: float = Field(30.0, gt=0, description="Delay after the 1st failure.")
    backoff_max_seconds: float = Field(3600.0, gt=0, description="Longest delay between attempts.")
    attempt_timeout_seconds: float = Field(20.0, gt=0, description="One attempt, at most.")
    email_concurrency: int = Field(8, ge=1, le=200, description="Emails in flight at once.")
    webhook_concurrency: int = Field(4, ge=1, le=200, description="Requests in flight per URL.")
    poll_seconds: float = Field(1.0, gt=0, description="Longest wait between two claims.")

    # Time-driven notices, on the service clock.
    reminder_days: list[DayCount] = Field(
        default_factory=lambda: [7, 1],
        description="Days before a phase closes or a commitment is due to remind, when the "
        "campaign's rules (reminder_days_before_close) do not say.",
    )
    reminder_hour: int = Field(8, ge=0, le=23, description="County-time hour reminders go out.")
    escalation_days: int = Field(
        7, ge=0, le=366, description="Days an overdue task may stay open before escalation."
    )
    circular_period_days: float = Field(
        7.0, gt=0, description="Days between weekly circular drafts (通报); one more at each close."
    )

    # Who issues each county's circulars and signs its notices (counties.py).
    counties_file: Path = Field(
        DEFAULT_FILE,
        validation_alias="GRASSROOTS_COUNTIES_FILE",
        description="The county configuration (TOML).",
    )
    _counties: Counties = PrivateAttr(default_factory=Counties)

    @model_validator(mode="after")
    def _secret_with_webhooks(self) -> Self:
        if any(self.webhooks.values()) and self.webhook_signing_secret is None:
            raise ValueError("webhooks are configured but WEBHOOK_SIGNING_SECRET is not set")
        return self

    @model_validator(mode="after")
    def _read_counties(self) -> Self:
        self._counties = load_counties(self.counties_file)  # a broken file stops the start
        return self

    @property
    def counties(self) -> Counties:
        return self._counties

    def sender(self, county_code: str) -> str:
        """Who signs the county's notices: its issuing body, else the configured sender name."""
        issuer = self._counties.issuer(county_code)
        return issuer.issuing_body if issuer else self.mail_from_name

    @property
    def lease_seconds(self) -> float:
        """How long a claimed delivery stays ours: an attempt's timeout with a margin."""
        return 2 * self.attempt_timeout_seconds + 5

    def endpoints_for(self, county_code: str) -> list[WebhookEndpoint]:
        """The county's own endpoints, then those for every county; a name once (the county's)."""
        found: dict[str, WebhookEndpoint] = {}
        for endpoint in [*self.webhooks.get(county_code, []), *self.webhooks.get("*", [])]:
            found.setdefault(endpoint.name, endpoint)
        return list(found.values())

    def webhook_urls(self) -> set[str]:
        return {str(endpoint.url) for endpoints in self.webhooks.values() for endpoint in endpoints}
