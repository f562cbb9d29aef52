"""Operator commands of the intake: credentials of county systems (stored hashed).

python -m intake.cli credential create --county 610526 --label "蒲城县教育局党委办系统" [--rate 20/second]
python -m intake.cli credential revoke --label "蒲城县教育局党委办系统"
python -m intake.cli credential list
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import asyncpg
import typer
from limits import parse

from grassroots import first_run
from grassroots.plumbing import database
from intake.config import IntakeSettings
from intake.credentials import new_secret, secret_hash
from intake.store import IntakeStore

# first_run.Typer: a misconfiguration or a database that does not answer is one line, exit 2.
app = first_run.Typer(
    help="Intake service operations.",
    no_args_is_help=True,
    database_variables=("GRASSROOTS_DATABASE_URL", "INTAKE_DATABASE_URL"),
)
credential_app = typer.Typer(help="Credentials of county systems.", no_args_is_help=True)
app.add_typer(credential_app, name="credential")
MIGRATIONS = Path(__file__).parent.parent / "migrations"
T = TypeVar("T")


def _with_store(work: Callable[[IntakeStore], Awaitable[T]]) -> T:
    dsn = os.environ.get("GRASSROOTS_DATABASE_URL") or os.environ.get("INTAKE_DATABASE_URL")
    if not dsn:
        raise first_run.Misconfigured(
            "GRASSROOTS_DATABASE_URL (or INTAKE_DATABASE_URL) is not set: the intake role's "
            "PostgreSQL URL (. deploy/env.sh exports INTAKE_DATABASE_URL)"
        )

    async def run() -> T:
        conn: asyncpg.Connection = await asyncpg.connect(
            dsn, server_settings={"search_path": "intake"}
        )
        try:
            await database.migrate(conn, "intake", MIGRATIONS)
            return await work(IntakeStore(conn))
        finally:
            await conn.close()

    return asyncio.run(run())


@credential_app.command("create")
def create(
    county: Annotated[str, typer.Option(help="The county code it publishes for, e.g. 610526.")],
    label: Annotated[str, typer.Option(help="Which system holds it, e.g. 党委办报送系统.")],
    rate: Annotated[
        str | None, typer.Option(help="Requests per replica, e.g. 20/second (default: 50/second).")
    ] = None,
) -> None:
    """Make a credential; its secret is printed once (only its hash is kept)."""
    if not re.fullmatch(r"[0-9]{6}", county):
        raise typer.BadParameter("a 6-digit county code, e.g. 610526", param_hint="--county")
    if rate is not None:
        try:
            parse(rate)
        except ValueError:
            raise typer.BadParameter("e.g. 20/second or 600/minute", param_hint="--rate") from None
    secret = new_secret()
    pepper = IntakeSettings().token_pepper.get_secret_value()

    async def work(store: IntakeStore) -> None:
        try:
            await store.create(
                secret_hash=secret_hash(secret, pepper), county_code=county, label=label, rate=rate
            )
        except asyncpg.UniqueViolationError:
            raise typer.BadParameter(
                f"a live credential is labelled {label!r} already", param_hint="--label"
            ) from None

    _with_store(work)
    typer.echo(secret)


@credential_app.command("revoke")
def revoke(label: Annotated[str, typer.Option(help="The label it was made with.")]) -> None:
    """Revoke a credential: its next request is 401."""
    if not _with_store(lambda store: store.revoke(label)):
        typer.echo(f"no live credential labelled {label!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {label}")


@credential_app.command("list")
def list_credentials() -> None:
    """The live credentials: county, label, rate (never a secret)."""
    for credential in _with_store(lambda store: store.live()):
        typer.echo(
            f"{credential.county_code or '*'}\t{credential.label}\t{credential.rate or 'default'}"
        )


if __name__ == "__main__":
    app()
