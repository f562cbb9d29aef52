"""Tracing with OpenTelemetry: one trace follows a county's event through the services.

Every event may carry the CloudEvents distributed-tracing extension (`traceparent`,
`tracestate`). A consumed event's handling continues its trace (a span whose parent is the
event's context); what a handler emits carries the context of that span, as attributes of the
envelope and as the Kafka header `traceparent` — so the next service continues the same trace.
Batches, the outbox relay, deliveries and API requests have spans of their own.

Spans are exported over OTLP when the standard variables ask for it (`OTEL_EXPORTER_OTLP_ENDPOINT`
or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_TRACES_EXPORTER=otlp`; `OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`… as usual). Without them tracing is off: the
API's no-op tracer costs next to nothing, and a trace context that arrived with an event is
still passed on unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.trace import Link, Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from grassroots.contract import AnyEvent
from grassroots.contract.envelope import valid_traceparent

_PROPAGATOR = TraceContextTextMapPropagator()
MAX_LINKS = 32  # a batch span links to at most this many of its records' traces

_provider: trace.TracerProvider | None = None
_tracer: Tracer | None = None

Carrier = dict[str, str]
"""{"traceparent": …, "tracestate": …} — W3C trace context as text."""


def exporting() -> bool:
    """Whether the OTEL_* variables ask for spans to be exported over OTLP."""
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters == "none":
        return False
    return "otlp" in exporters or bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure(service: str) -> None:
    """At a service's start: export spans over OTLP when the OTEL_* variables say so."""
    if not exporting():
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service}
    install(BatchSpanProcessor(OTLPSpanExporter()), Resource.create(attributes))


def install(processor: SpanProcessor, resource: Resource | None = None) -> TracerProvider:
    """Record spans with this processor from now on (tests: an in-memory exporter's)."""
    global _provider, _tracer
    provider = TracerProvider(resource=resource or Resource.create({}))
    provider.add_span_processor(processor)
    _provider, _tracer = provider, None
    return provider


def shutdown() -> None:
    """Flush what is still buffered (at a service's stop)."""
    global _provider, _tracer
    if isinstance(_provider, TracerProvider):
        _provider.shutdown()
    _provider, _tracer = None, None


def tracer() -> Tracer:
    global _tracer
    if _tracer is None:
        _tracer = (_provider or trace.get_tracer_provider()).get_tracer("grassroots")
    return _tracer


def context_of(carrier: Mapping[str, str | None]) -> Context | None:
    """The trace context a carrier names, or None (absent or not in the W3C format)."""
    parent = carrier.get("traceparent")
    if not valid_traceparent(parent):
        return None
    found: Carrier = {"traceparent": str(parent)}
    state = carrier.get("tracestate")
    if state:
        found["tracestate"] = state
    return _PROPAGATOR.extract(found)


def event_context(event: AnyEvent) -> Context | None:
    return context_of({"traceparent": event.traceparent, "tracestate": event.tracestate})


def header_context(headers: Iterable[tuple[str, bytes]]) -> Context | None:
    """The trace context of a Kafka record's `traceparent` / `tracestate` headers."""
    carrier: dict[str, str | None] = {}
    for name, value in headers:
        if name in ("traceparent", "tracestate") and value:
            carrier[name] = value.decode("ascii", "replace")
    return context_of(carrier)


def current_carrier() -> Carrier:
    """The current span's context as text (empty when there is none)."""
    carrier: Carrier = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def current_trace_id() -> str | None:
    """The current trace's id (32 hex digits), for logs; None outside a trace."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def _links(contexts: Iterable[Context | None]) -> list[Link]:
    links: list[Link] = []
    for context in contexts:
        if context is None:
            continue
        span_context = trace.get_current_span(context).get_span_context()
        if span_context.is_valid:
            links.append(Link(span_context))
        if len(links) >= MAX_LINKS:
            break
    return links


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: Context | None = None,
    links: Iterable[Context | None] = (),
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A current span (child of `parent` when given, else of the current one)."""
    with tracer().start_as_current_span(
        name,
        context=parent,
        kind=kind,
        links=_links(links),
        attributes=dict(attributes or {}),
    ) as current:
        yield current


def _consumer_attributes(event: AnyEvent) -> dict[str, Any]:
    return {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": type(event).topic,
        "cloudevents.event_id": event.id,
        "cloudevents.event_source": event.source,
        "cloudevents.event_type": event.type,
        "cloudevents.event_subject": event.subject,
    }


def start_consumed(service: str, event: AnyEvent) -> Span | None:
    """The span of one consumed event's handling, continuing the event's trace and linked to
    the current (batch) span; None when the event carries no trace context (its handling is
    then part of the batch's trace only). Not made current: the caller ends it."""
    parent = event_context(event) if event.traceparent is not None else None
    if parent is None:
        return None
    batch = trace.get_current_span().get_span_context()
    return tracer().start_span(
        f"{service} process {event.type}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=[Link(batch)] if batch.is_valid else [],
        attributes=_consumer_attributes(event),
    )


@contextmanager
def consumed(service: str, event: AnyEvent) -> Iterator[Span | None]:
    """`start_consumed` made current for the block: what the handler emits carries its
    context."""
    found = start_consumed(service, event)
    if found is None:
        yield None
        return
    with trace.use_span(found, end_on_exit=True, record_exception=True):
        yield found


def carrier_of(span_: Span) -> Carrier:
    """A span's context as text, for the events caused by what it handled."""
    carrier: Carrier = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span_))
    return carrier


class TraceRequests:
    """ASGI middleware: a server span per API request, continuing the caller's `traceparent`
    header when it sends one; named by the route's template (never the query string)."""

    def __init__(self, app: Any, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [(name.decode("latin-1"), value) for name, value in scope.get("headers", ())]
        method = scope.get("method", "GET")
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with span(
            f"{self.service} {method}",
            kind=SpanKind.SERVER,
            parent=header_context(headers) or Context(),
            attributes={"http.request.method": method, "url.path": scope.get("path", "")},
        ) as current:
            try:
                await self.app(scope, receive, sending)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:
                    current.update_name(f"{self.service} {method} {route}")
                    current.set_attribute("http.route", route)
                current.set_attribute("http.response.status_code", status)
                if status >= 500:
                    current.set_status(trace.Status(trace.StatusCode.ERROR))
