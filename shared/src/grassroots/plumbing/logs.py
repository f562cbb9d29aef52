"""Logs an operator can search: one JSON object a line (service, level, message, and where they
apply the event's id and type, the campaign and the trace id), or readable text when a person
watches a terminal. One line per batch and per error, never per event; the API's requests are
logged once each, with who asked (the token's label — never the token) and how it went.

GRASSROOTS_LOG_FORMAT: `json`, `text`, or `auto` (the default: text when standard error is a
terminal, else JSON). Whatever the format, known secrets and anything shaped like a token are
replaced by `[redacted]` before a line is written.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import BaseModel

from grassroots.contract import CloudEvent
from grassroots.plumbing import tracing

AUDIT_LOGGER = "grassroots.audit"
REDACTED = "[redacted]"
# Requests of probes and scrapers are not reads of anyone's data: not audited.
UNAUDITED_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/metrics", "/favicon.ico"})
_CALLER = "grassroots.caller"

# API tokens (gr_…), sign-in codes (sc_…), inbox tokens (gri_….…), bearer credentials, and the
# password of a connection URL.
_TOKENS = re.compile(
    r"\b(?:gr|sc|gri)_[A-Za-z0-9_.\-]{16,}|(?i:bearer)\s+[A-Za-z0-9_.\-~+/=]{8,}"
    r"|(?<=://)[^/@\s:]+:[^/@\s]+(?=@)"
)
_SECRET_NAMES = re.compile(r"PASSWORD|PEPPER|SECRET|TOKEN|CREDENTIAL|DATABASE_URL|DSN")
# The attributes every LogRecord has; the others were given with `extra=`.
_STANDARD = frozenset(
    set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
)


# uvicorn's copy of a message with terminal colours.
_LEFT_OUT = frozenset({"color_message"})


class PerMessageNoise(logging.Filter):
    """FastStream logs "Received" and "Processed" for every batch it hands over: the service's
    own line per batch says more ("batch applied"), so these are left out below WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno < logging.WARNING
            and record.name.endswith(".broker")
            and record.msg in ("Received", "Processed")
        )


def _secrets_of_environment() -> list[str]:
    found = set()
    for name, value in os.environ.items():
        if _SECRET_NAMES.search(name.upper()) and len(value) >= 6:
            found.add(value)
            match = re.match(r"^[a-z0-9+]+://[^/@:]+:([^/@]+)@", value)
            if match and len(match.group(1)) >= 4:
                found.add(match.group(1))
    return sorted(found, key=len, reverse=True)


class Redactor:
    """Replaces the environment's secrets (read once) and token-shaped strings."""

    def __init__(self) -> None:
        self.secrets = _secrets_of_environment()

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _TOKENS.sub(REDACTED, text)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, service, logger, message, then the record's extra
    fields (event_id, event_type, campaign, …) and the trace id of the current span."""

    def __init__(self, service: str, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.service = service
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in _LEFT_OUT:
                line[key] = value
        trace_id = line.get("trace_id") or tracing.current_trace_id()
        if trace_id:
            line["trace_id"] = trace_id
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = f"{type(error).__name__}: {error}"
            line["traceback"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """For a person at a terminal: time, level, logger, message, then key=value of the rest."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = [
            f"{key}={value}"
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_") and key not in _LEFT_OUT
        ]
        if extra:
            first, _, rest = text.partition("\n")
            text = f"{first} [{' '.join(extra)}]" + (f"\n{rest}" if rest else "")
        return self.redact(text)


def wants_json(choice: str | None = None, stream: Any = None) -> bool:
    """JSON unless `choice` (else GRASSROOTS_LOG_FORMAT) says text, or says auto and standard
    error is a terminal."""
    choice = (choice or os.environ.get("GRASSROOTS_LOG_FORMAT") or "auto").strip().lower()
    if choice in ("json", "text"):
        return choice == "json"
    stream = stream or sys.stderr
    return not (hasattr(stream, "isatty") and stream.isatty())


def configure(service: str, level: str = "INFO", fmt: str | None = None) -> logging.Handler:
    """Send every logger's records (uvicorn's too) to standard error in the chosen format
    (`fmt`: json, text or auto; default GRASSROOTS_LOG_FORMAT)."""
    redact = Redactor()
    handler = logging.StreamHandler(sys.stderr)
    chosen = JsonFormatter(service, redact) if wants_json(fmt) else TextFormatter(redact)
    handler.setFormatter(chosen)
    handler.addFilter(PerMessageNoise())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # warnings too are lines of the chosen format
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # aiokafka reports every reconnection attempt at ERROR with a traceback; one line is enough.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    return handler


def event_fields(event: CloudEvent[BaseModel]) -> dict[str, Any]:
    """`extra=` for a line about one event: its id, type and campaign."""
    return {
        "event_id": event.id,
        "event_type": event.type,
        "campaign": getattr(event, "campaignid", None),
    }


# The audit trail of the API.

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_audit = logging.getLogger(AUDIT_LOGGER)


def name_caller(request: Any, label: str) -> None:
    """Record who is asking (the label of the token or session that was accepted) for the
    request's audit line. `request` is a Starlette request (or its ASGI scope)."""
    scope = request if isinstance(request, dict) else request.scope
    scope.setdefault("state", {})[_CALLER] = label


class AuditLog:
    """ASGI middleware: one line per API request — method, path (never the query string, which
    may carry a sign-in code), status, duration, the caller's label and the trace id."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNAUDITED_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500  # when the app fails before it answers

        async def sending(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _audit.info(
                "%s %s %d",
                scope.get("method", "?"),
                scope.get("path", "?"),
                status,
                extra={
                    "audit": "api_request",
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "caller": state.get(_CALLER),
                },
            )
