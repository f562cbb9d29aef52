"""The two outside channels: email over SMTP (aiosmtplib) and signed webhooks (httpx).

Each `send` makes one attempt within the attempt timeout and says how it went; it never
raises for a delivery problem. Receivers can de-duplicate a repeat (see the README's crash
window): an email's Message-ID and a webhook's Idempotency-Key are the notification id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ssl
import time
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from typing import Any

import aiosmtplib
import httpx

from notification.config import NotificationSettings
from notification.domain import (
    AttemptResult,
    address_problem,
    http_status_result,
    smtp_code_is_permanent,
)

SIGNATURE_HEADER = "X-Grassroots-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
NOTIFICATION_HEADER = "X-Grassroots-Notification-Id"
SMTP_KEEP_SECONDS = 30.0  # an idle connection older than this is closed, not reused


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`: the receiver recomputes
    it over the exact bytes it received and rejects stale timestamps (replays)."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip()[:1000]


class EmailSender:
    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings
        self.domain = settings.mail_from.rpartition("@")[2] or "grassroots.invalid"
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._tls: ssl.SSLContext | None = None

    def tls_context(self) -> ssl.SSLContext:
        """One TLS context for every connection. Left to itself, aiosmtplib builds a new one per
        connection (the system's CA store loaded again, in a thread of the default executor):
        native memory that the soak of issue 21 points at, for nothing — the settings do not
        change while the process runs."""
        if self._tls is None:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
            if self.settings.smtp_cert_bundle:
                context.load_verify_locations(cafile=str(self.settings.smtp_cert_bundle))
            if not self.settings.smtp_validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls = context
        return self._tls

    def message(self, row: Any) -> Message:
        """The MIME message: text and HTML alternatives, UTF-8, Chinese headers encoded
        (RFC 2047). Built with the compat32 API: the modern one refolds headers ten times
        slower, which the benchmark showed as the main cost of sending."""
        message: Message = (
            MIMEMultipart("alternative") if row["html"] else MIMEText(row["body"], "plain", "utf-8")
        )
        if row["html"]:
            message.attach(MIMEText(row["body"], "plain", "utf-8"))
            message.attach(MIMEText(row["html"], "html", "utf-8"))
        message["From"] = formataddr(
            (self.settings.mail_from_name, self.settings.mail_from), charset="utf-8"
        )
        message["To"] = row["address"]
        headers: Any = message  # compat32 takes Header objects; typeshed says str only
        headers["Subject"] = Header(row["subject"], "utf-8")
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{row['notification_id']}@{self.domain}>"
        message["Auto-Submitted"] = "auto-generated"
        message[NOTIFICATION_HEADER] = row["notification_id"]
        message["X-Grassroots-Kind"] = row["kind"]
        return message

    async def send(self, row: Any) -> AttemptResult:
        problem = address_problem(row["address"])
        if problem:
            return AttemptResult(ok=False, permanent=True, error=problem)
        try:
            async with asyncio.timeout(self.settings.attempt_timeout_seconds):
                await self._transmit(self.message(row), row["address"])
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [r.code for r in refused.recipients]
            detail = "; ".join(f"{r.code} {r.message}" for r in refused.recipients)
            permanent = all(smtp_code_is_permanent(code) for code in codes)
            return AttemptResult(ok=False, permanent=permanent, error=f"refused: {detail}")
        except aiosmtplib.SMTPAuthenticationError as error:
            # Our credentials, not the recipient: retried (and reported) like an outage.
            return AttemptResult(ok=False, error=f"SMTP {error.code} {error.message}")
        except aiosmtplib.SMTPResponseException as error:
            permanent = smtp_code_is_permanent(error.code)
            return AttemptResult(
                ok=False, permanent=permanent, error=f"SMTP {error.code} {error.message}"
            )
        except TimeoutError:
            return AttemptResult(ok=False, error=self._timed_out())
        except (aiosmtplib.SMTPException, OSError) as error:
            return AttemptResult(ok=False, error=_describe(error))
        return AttemptResult(ok=True)

    async def _transmit(self, message: Message, address: str) -> None:
        """One mail transaction on a kept connection, or a new one. A kept connection the
        server has dropped meanwhile fails before MAIL FROM: then once more on a new one."""
        client, kept = await self._connection()
        try:
            await client.send_message(message, sender=self.settings.mail_from, recipients=[address])
        except aiosmtplib.SMTPServerDisconnected:
            client.close()
            if not kept:
                raise
            client, _ = await self._connection(fresh=True)
            try:
                await client.send_message(
                    message, sender=self.settings.mail_from, recipients=[address]
                )
            except BaseException:
                client.close()
                raise
        except BaseException:
            client.close()  # whatever state it is in, it is not reused
            raise
        self._idle.append((client, time.monotonic()))

    async def _connection(self, *, fresh: bool = False) -> tuple[aiosmtplib.SMTP, bool]:
        """An idle connection (True) if one is open and recent, else a new one (False):
        connected, TLS as configured, logged in. Connections are kept up to the concurrency."""
        while self._idle and not fresh:
            client, since = self._idle.pop()
            if client.is_connected and time.monotonic() - since < SMTP_KEEP_SECONDS:
                return client, True
            client.close()
        settings = self.settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            use_tls=settings.smtp_use_tls,
            start_tls=settings.smtp_starttls,
            validate_certs=settings.smtp_validate_certs,
            tls_context=self.tls_context(),
            local_hostname=settings.smtp_local_hostname,
            timeout=settings.attempt_timeout_seconds,
        )
        await client.connect()
        return client, False

    def close(self) -> None:
        while self._idle:
            self._idle.pop()[0].close()

    def _timed_out(self) -> str:
        return f"no answer from the SMTP server within {self.settings.attempt_timeout_seconds:g} s"


class WebhookSender:
    def __init__(self, settings: NotificationSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def send(self, row: Any) -> AttemptResult:
        secret = self.settings.webhook_signing_secret
        if secret is None:
            return AttemptResult(ok=False, permanent=True, error="no webhook signing secret")
        body = row["body"].encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(secret.get_secret_value().encode(), int(time.time()), body),
            IDEMPOTENCY_HEADER: row["notification_id"],
            NOTIFICATION_HEADER: row["notification_id"],
            "User-Agent": "grassroots-notification/1",
        }
        try:
            async with asyncio.timeout(self.settings.attempt_timeout_seconds):
                response = await self.client.post(row["address"], content=body, headers=headers)
        except (TimeoutError, httpx.TimeoutException):
            timeout = self.settings.attempt_timeout_seconds
            return AttemptResult(ok=False, error=f"no answer within {timeout:g} s")
        except (httpx.HTTPError, OSError) as error:
            return AttemptResult(ok=False, error=_describe(error))
        return http_status_result(response.status_code)
