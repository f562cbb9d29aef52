"""Wiring a service: settings, pool and migrations, broker and batch subscriber, outbox relay,
jobs, and the HTTP app with /healthz and /metrics. Services declare what they are in a
`ServiceDefinition`; `Service` runs it."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import asyncpg
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaConnectionError
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential_jitter,
)

from grassroots import first_run
from grassroots.contract import ALL_TOPICS, dlq_topic
from grassroots.plumbing import database, logs, metrics, tracing
from grassroots.plumbing.clock import Clock, file_clock, system_clock
from grassroots.plumbing.consumer import NAMED_FIRST, BatchApplier, ParsedBatch
from grassroots.plumbing.garbage import collect_garbage_for_throughput
from grassroots.plumbing.handling import HandlerTable
from grassroots.plumbing.http_metrics import RequestMetrics
from grassroots.plumbing.jobs import Job
from grassroots.plumbing.kafka import ensure_topics, make_broker, make_producer
from grassroots.plumbing.lag import measure_lag
from grassroots.plumbing.outbox import OutboxRelay
from grassroots.plumbing.pipeline import BatchPipeline, DrainOnRevoke
from grassroots.plumbing.settings import ServiceSettings
from grassroots.plumbing.unit_of_work import UnitOfWork, open_unit_of_work

log = logging.getLogger(__name__)
S = TypeVar("S")  # the service's store

TRANSIENT_ERRORS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


@dataclass(frozen=True)
class ServiceDefinition(Generic[S]):
    """What a service is: its name (= schema = consumer group), the topics it consumes (listed
    here once), its handlers, its store, its migrations, its jobs and HTTP routes."""

    name: str
    topics: Sequence[str]
    handlers: HandlerTable[S]
    # The service's SQL, bound to a unit of work's connection.
    store: Callable[[asyncpg.Connection], S]
    migrations: Path
    routers: Sequence[APIRouter] = ()
    jobs: Sequence[Job[S]] = ()
    # Long-running tasks that are not jobs (the delivery worker), given the runtime.
    background: Sequence[Callable[[Runtime[S]], Coroutine[Any, Any, None]]] = ()
    clock: Clock = system_clock
    # False: FastAPI's /docs and /redoc (which load Swagger UI and ReDoc from a CDN) are left
    # out, and the service serves its own pages there among its routers (reporting, issue 17).
    cdn_docs: bool = True

    def __post_init__(self) -> None:
        unknown = sorted(set(self.topics) - set(ALL_TOPICS))
        if unknown:
            raise ValueError(f"{self.name} consumes topics not in the contract: {unknown}")
        self.handlers.check_consumed(self.name, self.topics)


@dataclass
class Runtime(Generic[S]):
    definition: ServiceDefinition[S]
    settings: ServiceSettings
    pool: asyncpg.Pool
    broker: KafkaBroker
    relay: OutboxRelay
    applier: BatchApplier
    clock: Clock
    # The idempotent producer (acks=all) the outbox relay sends with; the intake produces what
    # it accepts with it too, before it answers.
    producer: AIOKafkaProducer
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def unit_of_work(
        self, now: dt.datetime | None = None
    ) -> AbstractAsyncContextManager[UnitOfWork[S]]:
        """A transaction with the store; on leaving: deferred work, outbox, commit, relay."""
        return open_unit_of_work(
            self.pool,
            self.definition.store,
            service=self.definition.name,
            now=now or self.clock(),
            committed=self._wake_relay,
        )

    def _wake_relay(self, uow: UnitOfWork[S]) -> None:
        if uow.outgoing:
            self.relay.wake()

    async def apply(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply a batch, retrying through transient outages until the database commits."""
        await self.apply_parsed(self.applier.parse(records))

    async def apply_parsed(self, batch: ParsedBatch) -> None:
        """Apply a parsed batch, retrying through transient outages until the database
        commits."""
        service = self.definition.name
        started = time.perf_counter()
        retries = metrics.TRANSIENT_RETRIES.labels(service, "apply")
        records = [*(item.record for item in batch.received), *(r for r, _ in batch.refused)]
        # One span for the batch's transaction, linked to the traces its records carry.
        with tracing.span(
            f"{service} batch",
            kind=SpanKind.CONSUMER,
            links=(tracing.header_context(record.headers) for record in records),
            attributes={"messaging.batch.message_count": len(records)},
        ):
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(TRANSIENT_ERRORS),
                wait=wait_exponential_jitter(initial=0.1, max=5),
                before_sleep=lambda state: retries.inc(),
                reraise=True,
            ):
                with attempt, metrics.BATCH_SECONDS.labels(service).time():
                    async with self.unit_of_work() as uow:
                        summary = await self.applier.apply_parsed(uow, batch)
            seconds = round(time.perf_counter() - started, 3)
            log.info("batch applied", extra={**summary.log_fields(), "seconds": seconds})
        metrics.BATCH_SIZE.labels(service).observe(len(records))
        committed_ms = time.time() * 1000
        lag = metrics.EVENT_LAG_SECONDS.labels(service)
        for record in records:
            lag.observe(max(0.0, committed_ms - record.timestamp) / 1000)


def _utf8_headers(record: ConsumerRecord[bytes, bytes]) -> ConsumerRecord[bytes, bytes]:
    # FastStream decodes header values as UTF-8; hostile bytes there must not crash the consumer.
    def readable(value: bytes | None) -> bool:
        try:
            (value or b"").decode()
        except UnicodeDecodeError:
            return False
        return True

    if all(readable(value) for _, value in record.headers):
        return record
    return dataclasses.replace(
        record, headers=[(name, value) for name, value in record.headers if readable(value)]
    )


async def _tolerant_parser(records: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    message = await original(tuple(_utf8_headers(record) for record in records))
    message.raw_message = tuple(records)
    return message


async def _no_decoding(message: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    return None  # records are parsed and validated by BatchApplier, once


async def _connect_with_retry(settings: ServiceSettings, schema: str) -> asyncpg.Pool:
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT_ERRORS),
        wait=wait_exponential_jitter(initial=0.2, max=3),
        stop=stop_after_delay(settings.startup_wait_seconds),
        reraise=True,
    ):
        with attempt:
            return await database.create_pool(
                settings.database_url.get_secret_value(), schema, size=settings.db_pool_size
            )
    raise AssertionError("unreachable")


class Service(Generic[S]):
    """A running service: pool and migrations, topics, outbox relay, consumer, jobs."""

    def __init__(self, definition: ServiceDefinition[S], settings: ServiceSettings) -> None:
        self.definition = definition
        self.settings = settings
        self.runtime: Runtime[S] | None = None
        self.pipeline: BatchPipeline | None = None
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> Runtime[S]:
        definition, config = self.definition, self.settings
        name = definition.name
        pool = await _connect_with_retry(config, name)
        async with pool.acquire() as conn:
            applied = await database.migrate(conn, name, definition.migrations)
        if applied:
            log.info("%s: applied migrations %s", name, ", ".join(applied))
        # The broker may still be starting (or restarting): wait for it rather than crash.
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((KafkaConnectionError, *TRANSIENT_ERRORS)),
            wait=wait_exponential_jitter(initial=0.2, max=3),
            stop=stop_after_delay(config.startup_wait_seconds),
            reraise=True,
        ):
            with attempt:
                # Its own topics only: with ACLs, a service sees no other (and creates none).
                await ensure_topics(
                    config.kafka_bootstrap_servers,
                    [*definition.topics, *(dlq_topic(t) for t in definition.topics)],
                    partitions=config.topic_partitions,
                )
        producer = self._producer = make_producer(
            config.kafka_bootstrap_servers, client_id=f"{name}-outbox"
        )
        await producer.start()
        relay = OutboxRelay(
            pool,
            producer,
            service=name,
            batch_size=config.outbox_batch_size,
            bootstrap_servers=config.kafka_bootstrap_servers,
        )
        broker = make_broker(config.kafka_bootstrap_servers, client_id=name)
        runtime = self.runtime = Runtime(
            definition,
            config,
            pool,
            broker,
            relay,
            BatchApplier(service=name, handlers=definition.handlers),
            file_clock(config.clock_file) if config.clock_file else definition.clock,
            producer,
        )
        self.pipeline = BatchPipeline(
            runtime.applier.parse,
            runtime.apply_parsed,
            read_first=NAMED_FIRST if NAMED_FIRST in definition.topics else None,
        )
        if definition.topics:  # the intake consumes nothing
            self._subscribe(broker)
        relay.start()
        await broker.start()
        runtime.tasks = [
            *(asyncio.create_task(job.run_forever(runtime)) for job in definition.jobs),
            *(asyncio.create_task(task(runtime)) for task in definition.background),
            *measure_lag(config.kafka_bootstrap_servers, name, definition.topics),
        ]
        metrics.describe_service(name, definition.topics)
        collect_garbage_for_throughput()
        log.info("%s: consuming %s", name, ", ".join(definition.topics) or "nothing")
        return runtime

    async def stop(self) -> None:
        runtime = self.runtime
        if runtime is None:
            return
        for task in runtime.tasks:
            task.cancel()
        # Let jobs close their own connections before the pool goes.
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
        await self._drain()  # the batch in flight committed, with its offsets
        await runtime.broker.stop()
        await self._drain()  # one the consumer loop handed over while it stopped
        await runtime.relay.stop()
        if self._producer is not None:
            await self._producer.stop()
        await runtime.pool.close()

    async def _drain(self) -> None:
        if self.pipeline is None:
            return
        try:
            await self.pipeline.drain()
        except Exception:  # not committed: read again at the next start
            log.exception("the batch in flight failed while stopping")

    def _subscribe(self, broker: KafkaBroker) -> None:
        assert self.pipeline is not None
        name = self.definition.name
        subscriber = broker.subscriber(
            *self.definition.topics,
            group_id=name,
            group_instance_id=self.settings.consumer_instance_id or f"{name}-0",
            batch=True,
            max_records=self.settings.consumer_batch_size,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            parser=_tolerant_parser,
            decoder=_no_decoding,
            # Prefetched records wait in memory per partition (reporting reads some thirty): 1 MB
            # each bounds that; a larger record batch is still returned whole, on its own.
            max_partition_fetch_bytes=1024 * 1024,
            include_in_schema=False,
            listener=DrainOnRevoke(self.pipeline),
        )

        @subscriber
        async def on_records(body: Any, msg: KafkaMessage) -> None:
            # Parsed now, applied while the next batch is read; its offsets are committed by
            # the pipeline once its transaction committed (not by FastStream's ack, which
            # commits the consumer's position: past batches not applied yet).
            assert self.pipeline is not None
            consumer = cast(AIOKafkaConsumer, msg.consumer)
            await self.pipeline.submit(msg.raw_message, consumer)


def _consumer_running(runtime: Runtime[Any]) -> bool:
    """The consumer's loop is there (FastStream restarts it after a failure; gone for good, only
    a restart of the process brings it back). The intake has no consumer."""
    if not runtime.definition.topics:
        return True
    tasks = [task for sub in runtime.broker.subscribers for task in getattr(sub, "tasks", ())]
    return any(not task.done() for task in tasks)


def _partitions_assigned(runtime: Runtime[Any]) -> bool:
    """This replica is in its consumer group with partitions to read (not while it joins or
    the group rebalances)."""
    consumers = [getattr(sub, "consumer", None) for sub in runtime.broker.subscribers]
    return any(consumer is not None and consumer.assignment() for consumer in consumers)


def _migration_versions(definition: ServiceDefinition[Any]) -> frozenset[str]:
    """The migrations this build of the service applies at start-up (shared and its own)."""
    files = database._migration_files(database.SHARED_MIGRATIONS, "shared")
    files += database._migration_files(definition.migrations, definition.name)
    return frozenset(version for version, _, _ in files)


async def _migrations_applied(runtime: Runtime[Any], expected: frozenset[str]) -> bool | None:
    """Whether every expected migration is recorded in the service's schema; None when the
    database does not answer (within 2 s)."""
    schema = runtime.definition.name
    try:
        async with runtime.pool.acquire(timeout=2) as conn:
            rows = await conn.fetch(f"SELECT version FROM {schema}.schema_migrations", timeout=2)
    except Exception:
        return None
    return expected <= {row["version"] for row in rows}


def build_app(definition: ServiceDefinition[S], settings: ServiceSettings | None = None) -> FastAPI:
    """The service's ASGI app; its lifespan starts and stops the service."""
    services: list[Service[S]] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or ServiceSettings()
        service = Service(definition, config)
        services.append(service)
        try:
            app.state.runtime = await service.start()
        except Exception as error:
            # A first-run problem (database or broker unreachable, a login refused) is told in
            # one line by `run`, not by a traceback.
            app.state.startup_problem = first_run.explain(
                error,
                database_url=config.database_url.get_secret_value(),
                bootstrap=config.kafka_bootstrap_servers,
            )
            raise
        app.state.started = True
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title=f"Grassroots {definition.name}",
        lifespan=lifespan,
        docs_url="/docs" if definition.cdn_docs else None,
        redoc_url="/redoc" if definition.cdn_docs else None,
    )

    # Probes for orchestrators (deploy/README.md, "Health"). Liveness asks only what a restart
    # would cure, so it never fails because PostgreSQL or Kafka is down (a restart cures no
    # outage, and restarting every replica during one makes it worse); readiness asks whether
    # this replica can do its work now.
    @app.get("/livez", include_in_schema=False)
    async def livez() -> Response:
        runtime = services[0].runtime if services else None
        # Answering at all shows the event loop runs; the consumer loop must be there too.
        consuming = runtime is None or _consumer_running(runtime)
        return JSONResponse(
            {"service": definition.name, "consumer": consuming},
            status_code=200 if consuming else 503,
        )

    expected_migrations = _migration_versions(definition)

    @app.get("/readyz", include_in_schema=False)
    @app.get("/healthz", include_in_schema=False)
    async def readyz() -> Response:
        runtime = services[0].runtime if services else None
        if runtime is None:
            return JSONResponse({"service": definition.name, "ready": False}, status_code=503)
        migrated = await _migrations_applied(runtime, expected_migrations)
        checks = {
            "database": migrated is not None,
            "migrations": bool(migrated),
            "broker": await runtime.broker.ping(timeout=2.0),
            # The intake consumes nothing: no partitions to be assigned.
            "consumer": not definition.topics or _partitions_assigned(runtime),
        }
        return JSONResponse(
            {"service": definition.name, **checks}, status_code=200 if all(checks.values()) else 503
        )

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, error: RequestValidationError) -> JSONResponse:
        """422 with one readable sentence per bad parameter, e.g. `query.page_size: …`."""
        reasons = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()]
        return JSONResponse({"detail": "; ".join(reasons)}, status_code=422)

    for router in definition.routers:
        app.include_router(router)
    app.add_middleware(RequestMetrics, service=definition.name)
    _trace_and_audit(app, definition.name)
    return app


def _trace_and_audit(app: FastAPI, service: str) -> None:
    """A span per request (outermost, so the audit line carries its trace id) and the audit
    trail of the API: one line per request with the caller's label (logs.AuditLog)."""
    app.add_middleware(logs.AuditLog, service=service)
    app.add_middleware(tracing.TraceRequests, service=service)


class _QuietStartup(logging.Filter):
    """Until the service is up, uvicorn's banner and the Kafka client's reconnection errors are
    left out (the start waits for the broker; if it gives up, `run` says so in one line), and
    so is the traceback of a start that failed for a reason `run` tells in one line."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__()
        self.app = app

    def filter(self, record: logging.LogRecord) -> bool:
        state = self.app.state
        quieted = record.name.startswith(("uvicorn", "aiokafka"))
        if getattr(state, "started", False) or not quieted:
            return True
        if getattr(state, "startup_problem", None) or record.name.startswith("aiokafka"):
            return False
        return record.levelno >= logging.WARNING


def _usage(definition: ServiceDefinition[Any], argv: Sequence[str]) -> None:
    from grassroots import environment

    parser = argparse.ArgumentParser(
        prog=f"python -m {definition.name}",
        description=f"The Grassroots {definition.name} service. It consumes "
        + (", ".join(definition.topics) or "no topic")
        + ", keeps its state in its PostgreSQL schema and serves its HTTP API with /healthz "
        "and /metrics. It takes no arguments: it is configured by environment variables "
        "(docs/environment.md), which `. deploy/env.sh` sets for this machine.",
        epilog="required: "
        + ", ".join(environment.required_variables(definition.name))
        + ". Tracing: OTEL_EXPORTER_OTLP_ENDPOINT (off when unset).",
    )
    parser.parse_args(argv)


def run(definition: ServiceDefinition[Any], argv: Sequence[str] | None = None) -> None:
    """Entry point of `python -m <service>`. `--help` prints what it is; a misconfiguration or
    a dependency that does not answer is one line and exit status 2 (grassroots.first_run)."""
    from grassroots import environment

    _usage(definition, sys.argv[1:] if argv is None else argv)
    settings: ServiceSettings = first_run.load(ServiceSettings)
    handler = logs.configure(definition.name, settings.log_level, settings.log_format)
    for own in environment.service_settings(definition.name):
        first_run.load(own)  # the service's own settings: a missing secret stops the start
    tracing.configure(definition.name)
    app = build_app(definition, settings)
    handler.addFilter(_QuietStartup(app))
    try:
        uvicorn.run(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_level=settings.log_level.lower(),
            log_config=None,  # uvicorn's records go through logs.configure's handler
            access_log=False,  # logs.AuditLog writes one line per request instead
            # X-Forwarded-* change nothing unless a service is configured to trust its proxy
            # (uvicorn's default trusts them from 127.0.0.1, so anyone on the host could pose as
            # HTTPS; the reporting service's GRASSROOTS_TRUST_FORWARDED_PROTO, issue 17).
            proxy_headers=False,
        )
    except SystemExit:
        problem = getattr(app.state, "startup_problem", None)
        if problem:
            first_run.fail(problem)
        raise
    finally:
        tracing.shutdown()
