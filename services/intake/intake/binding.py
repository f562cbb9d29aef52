"""The CloudEvents HTTP protocol binding (version 1.0), pure: a request's content type, headers
and body in, the events' JSON bytes out — one per event, each then validated by the contract
exactly as the consumers validate a record (`grassroots.contract.parse_event`).

- structured mode: `Content-Type: application/cloudevents+json`, the body is one event;
- batched mode: `Content-Type: application/cloudevents-batch+json`, the body is a JSON array
  of events;
- binary mode: the attributes in `ce-*` headers (values percent-encoded where not ASCII), the
  body is `data`, its `Content-Type` the event's `datacontenttype` (application/json here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote

from pydantic_core import from_json, to_json

STRUCTURED = "application/cloudevents+json"
BATCHED = "application/cloudevents-batch+json"
JSON = "application/json"
CE_PREFIX = "ce-"


class Mode(Enum):
    STRUCTURED = "structured"
    BATCHED = "batched"
    BINARY = "binary"


@dataclass(frozen=True)
class BindingError(Exception):
    """The request as a whole cannot be read: answered with `status` and `reason`."""

    status: int
    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Request:
    mode: Mode
    events: Sequence[bytes]  # each event's JSON, as the contract will validate it


def media_type(content_type: str | None) -> str:
    """`application/cloudevents+json; charset=utf-8` → `application/cloudevents+json`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _charset_is_utf8(content_type: str | None) -> bool:
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in {
            "utf-8",
            "utf8",
        }:
            return False
    return True


def _json(body: bytes, what: str) -> object:
    # pydantic-core's parser (Rust): a batch is parsed once and each event written back out, so
    # both must be fast; it refuses nesting deeper than 200 levels itself (no recursion error).
    try:
        return from_json(body)
    except ValueError as error:
        reason = str(error)
        if "recursion limit" in reason:
            raise BindingError(400, f"{what} is nested too deeply") from None
        raise BindingError(400, f"{what} is not valid JSON (UTF-8): {reason}") from None


def _encode(value: object) -> bytes:
    try:
        return to_json(value)
    except ValueError:  # e.g. nesting beyond the serialiser's limit
        return b"null"  # refused by the contract as not an event object, with its index


def read(content_type: str | None, headers: Mapping[str, Sequence[str]], body: bytes) -> Request:
    """The events of a request, or BindingError (400, 415) saying why there are none.

    `headers` maps lower-case header names to all their values (a repeated `ce-*` header is an
    error, not a choice)."""
    kind = media_type(content_type)
    if not _charset_is_utf8(content_type):
        raise BindingError(415, "only UTF-8 is accepted (charset=utf-8)")
    if kind == STRUCTURED:
        return Request(Mode.STRUCTURED, [body])  # validated as it came, byte for byte
    if kind == BATCHED:
        batch = _json(body, "the batch")
        if not isinstance(batch, list):
            raise BindingError(400, "a batch must be a JSON array of events")
        if not batch:
            raise BindingError(400, "the batch is empty")
        return Request(Mode.BATCHED, [_encode(event) for event in batch])
    if headers.get("ce-specversion"):
        return Request(Mode.BINARY, [_binary_event(kind, headers, body)])
    raise BindingError(
        415,
        f"content type {kind or '(none)'!r} is not accepted: send {STRUCTURED} (one event), "
        f"{BATCHED} (a JSON array of events), or binary mode (ce-* headers with an {JSON} body)",
    )


def _binary_event(kind: str, headers: Mapping[str, Sequence[str]], body: bytes) -> bytes:
    if kind != JSON:
        raise BindingError(
            415, f"binary mode: data must be {JSON}, not {kind or '(no content type)'!r}"
        )
    event: dict[str, object] = {}
    for name, values in headers.items():
        if not name.startswith(CE_PREFIX):
            continue
        attribute = name[len(CE_PREFIX) :]
        if len(values) != 1:
            raise BindingError(400, f"header {name} is repeated")
        if attribute in {"data", "data_base64"}:
            raise BindingError(400, f"header {name}: data travels in the body")
        try:
            event[attribute] = unquote(values[0], errors="strict")
        except UnicodeDecodeError:
            raise BindingError(400, f"header {name} is not percent-encoded UTF-8") from None
    event["datacontenttype"] = JSON
    event["data"] = _json(body, "the body (data)")
    return _encode(event)
