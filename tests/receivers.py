"""Real receivers on loopback for the end-to-end tests, each in a thread of the test process:
an SMTP server (aiosmtpd) that requires STARTTLS (a self-signed certificate made with openssl)
and AUTH, and an HTTP server (http.server) playing the county systems' webhook endpoints,
which verifies each request's signature as a county system would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

SIGNATURE_TOLERANCE_SECONDS = 300
HOLD_SECONDS = 30  # a held message is released by the test, or after this


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ------------------------------------------------------------------ SMTP


@dataclass(frozen=True)
class ReceivedEmail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    authenticated_as: str | None
    over_tls: bool

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        content: str = body.get_content()
        return content

    @property
    def text(self) -> str:
        return self.part("plain")


class SmtpReceiver:
    """Accepts mail for anyone but the `refused` addresses (550 at RCPT TO); mail to a `held`
    address is recorded at once but answered only when the test releases it."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.username = "grassroots"
        self.password = secrets.token_urlsafe(12)
        self.cert, key = _self_signed_certificate(workdir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.refused: set[str] = set()
        self.held: dict[str, threading.Event] = {}
        self._received: list[ReceivedEmail] = []
        self._lock = threading.Lock()
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            authenticator=self._authenticate,
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        for event in self.held.values():
            event.set()
        self._controller.stop()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and hmac.compare_digest(auth_data.password.decode(), self.password)
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        assert isinstance(message, EmailMessage)
        auth = session.auth_data if session.authenticated else None
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        received = ReceivedEmail(
            envelope.mail_from,
            tuple(envelope.rcpt_tos),
            message,
            login,
            session.ssl is not None,
        )
        with self._lock:
            self._received.append(received)
        for address in envelope.rcpt_tos:
            hold = self.held.get(address)
            if hold is not None:
                await asyncio.get_running_loop().run_in_executor(None, hold.wait, HOLD_SECONDS)
        return "250 Message accepted for delivery"

    def received(
        self, predicate: Callable[[ReceivedEmail], bool] = lambda _: True
    ) -> list[ReceivedEmail]:
        with self._lock:
            return [mail for mail in self._received if predicate(mail)]

    def to(self, address: str) -> list[ReceivedEmail]:
        return self.received(lambda mail: address in mail.rcpt_tos)

    def hold(self, address: str) -> threading.Event:
        """Keep the answer to mail for `address` until the returned event is set."""
        event = self.held[address] = threading.Event()
        return event


def _self_signed_certificate(workdir: Path) -> tuple[Path, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    cert, key = workdir / "smtp-cert.pem", workdir / "smtp-key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


# ------------------------------------------------------------------ webhooks


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool
    status: int
    at: float  # time.monotonic()

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def idempotency_key(self) -> str:
        return self.headers.get("idempotency-key", "")


def signature_valid(secret: bytes, header: str, body: bytes, now: float) -> bool:
    """As a county system checks it: `t=<unix>,v1=<hex>`, fresh, HMAC over "<t>." + body."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


# Path → status once the signature is valid: a healthy endpoint, one that is down (503 for
# ever), and one that is gone (410: a bad recipient, not to be retried).
BEHAVIOURS = {"/ok": 200, "/down": 503, "/gone": 410}


class WebhookReceiver:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self._received: list[ReceivedWebhook] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                valid = signature_valid(
                    receiver.secret,
                    self.headers.get("X-Grassroots-Signature", ""),
                    body,
                    time.time(),
                )
                status = BEHAVIOURS.get(self.path, 404) if valid else 401
                with receiver._lock:
                    receiver._received.append(
                        ReceivedWebhook(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            valid,
                            status,
                            time.monotonic(),
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(
        self, predicate: Callable[[ReceivedWebhook], bool] = lambda _: True
    ) -> list[ReceivedWebhook]:
        with self._lock:
            return [hook for hook in self._received if predicate(hook)]


# ------------------------------------------------------------------ both, for the platform


@dataclass
class Receivers:
    smtp: SmtpReceiver
    webhooks: WebhookReceiver
    secret: str
    # County codes of this test session with webhook endpoints: behaviour → county.
    counties: dict[str, str] = field(default_factory=dict)
    mail_from: str = "grassroots@pucheng.example.org"

    def notification_env(self) -> dict[str, str]:
        """What the notification service needs to reach these receivers, with quick retries."""
        endpoints = {
            county: [{"name": f"county-{behaviour}", "url": self.webhooks.url(f"/{behaviour}")}]
            for behaviour, county in self.counties.items()
        }
        prefix = "GRASSROOTS_NOTIFICATION_"
        return {
            f"{prefix}SMTP_HOST": "127.0.0.1",
            f"{prefix}SMTP_PORT": str(self.smtp.port),
            f"{prefix}SMTP_STARTTLS": "true",
            f"{prefix}SMTP_CERT_BUNDLE": str(self.smtp.cert),
            f"{prefix}SMTP_USERNAME": self.smtp.username,
            f"{prefix}SMTP_PASSWORD": self.smtp.password,
            f"{prefix}MAIL_FROM": self.mail_from,
            f"{prefix}WEBHOOKS": json.dumps(endpoints),
            "WEBHOOK_SIGNING_SECRET": self.secret,
            f"{prefix}MAX_ATTEMPTS": "3",
            f"{prefix}BACKOFF_INITIAL_SECONDS": "0.4",
            f"{prefix}BACKOFF_MAX_SECONDS": "2",
            f"{prefix}ATTEMPT_TIMEOUT_SECONDS": "2",
            f"{prefix}POLL_SECONDS": "0.1",
        }


@contextlib.contextmanager
def running_receivers(workdir: Path) -> Iterator[Receivers]:
    """Both receivers, started before the platform and stopped after it."""
    secret = secrets.token_hex(24)
    smtp = SmtpReceiver(workdir)
    webhooks = WebhookReceiver(secret.encode())
    token = secrets.randbelow(90000) + 10000
    counties = {
        behaviour.strip("/"): f"7{(token + i) % 100000:05d}"
        for i, behaviour in enumerate(BEHAVIOURS)
    }
    smtp.start()
    webhooks.start()
    try:
        yield Receivers(smtp, webhooks, secret, counties)
    finally:
        webhooks.stop()
        smtp.stop()
