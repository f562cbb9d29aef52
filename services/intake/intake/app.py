"""Wiring only: the intake consumes nothing; it serves POST /v1/events and produces what it
accepts with the service's idempotent producer."""

from __future__ import annotations

from pathlib import Path

from grassroots.plumbing.handling import HandlerTable
from grassroots.plumbing.service import Runtime, ServiceDefinition, build_app
from intake import api
from intake.credentials import secret_hash
from intake.store import IntakeStore

DASHBOARD_LABEL = "仪表板导入"


async def register_dashboard_credential(runtime: Runtime[IntakeStore]) -> None:
    """The dashboard forwards the office's Excel imports with a secret both services read from
    the environment; only its hash is stored, as for every credential."""
    config = api.settings()
    if config.dashboard_credential is None:
        return
    async with runtime.pool.acquire() as conn:
        await IntakeStore(conn).ensure(
            secret_hash=secret_hash(
                config.dashboard_credential.get_secret_value(),
                config.token_pepper.get_secret_value(),
            ),
            county_code=None,
            label=DASHBOARD_LABEL,
        )


DEFINITION: ServiceDefinition[IntakeStore] = ServiceDefinition(
    name="intake",
    topics=(),
    handlers=HandlerTable(),
    store=IntakeStore,
    migrations=Path(__file__).parent.parent / "migrations",
    routers=(api.router,),
    background=(register_dashboard_credential,),
)

app = build_app(DEFINITION)
