"""Operator commands of the reporting service: API tokens and rebuilding the read models.

python -m reporting.cli token create --county 610526 [--branch ID] --label "党委办"
python -m reporting.cli token create --county 610526 --label 刘芳 --role office
python -m reporting.cli token revoke <token>
python -m reporting.cli signin-link --county 610526 [--branch ID] --label "党委办"
python -m reporting.cli rebuild
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import asyncpg
import typer

from grassroots import first_run
from grassroots.plumbing import database
from reporting.auth import ROLES, SIGNIN_CODE_MINUTES, new_code, new_token, token_hash
from reporting.config import ReportingSettings
from reporting.rebuild import rebuild as replay
from reporting.store import tokens

app = first_run.Typer(
    help="Reporting service operations.",
    no_args_is_help=True,
    database_variables=("GRASSROOTS_DATABASE_URL", "REPORTING_DATABASE_URL"),
)
token_app = typer.Typer(help="API tokens (stored hashed).", no_args_is_help=True)
app.add_typer(token_app, name="token")
MIGRATIONS = Path(__file__).parent.parent / "migrations"


def _dsn() -> str:
    dsn = os.environ.get("GRASSROOTS_DATABASE_URL") or os.environ.get("REPORTING_DATABASE_URL")
    if not dsn:
        raise first_run.Misconfigured(
            "GRASSROOTS_DATABASE_URL (or REPORTING_DATABASE_URL) is not set: the reporting "
            "role's PostgreSQL URL (. deploy/env.sh exports REPORTING_DATABASE_URL)"
        )
    return dsn


async def _connect() -> asyncpg.Connection:
    pool = await database.create_pool(_dsn(), "reporting", size=2)
    conn: asyncpg.Connection = await pool.acquire()
    await database.migrate(conn, "reporting", MIGRATIONS)
    return conn


def _pepper() -> str:
    return ReportingSettings().token_pepper.get_secret_value()


@token_app.command("create")
def create_token(
    county: Annotated[str, typer.Option(help="County code the token reads, e.g. 610526.")],
    label: Annotated[str, typer.Option(help="Who holds it, e.g. 党委办.")],
    branch: Annotated[str | None, typer.Option(help="Restrict to this branch's card.")] = None,
    role: Annotated[
        str,
        typer.Option(
            help="reader (reads only), or office: a person of the Party office who may also "
            "edit, sign off and discard circulars in the label's name (county tokens only)."
        ),
    ] = "reader",
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    typer.echo(asyncio.run(_create(county, label, branch, role)))


def _check(county: str, label: str, branch: str | None, role: str) -> None:
    if not (len(county) == 6 and county.isdigit()):
        raise typer.BadParameter("the county code has 6 digits", param_hint="--county")
    if role not in ROLES:
        raise typer.BadParameter(f"the role is one of {', '.join(ROLES)}", param_hint="--role")
    if role == "office" and branch is not None:
        raise typer.BadParameter(
            "an office token is a county token: leave out --branch", param_hint="--role"
        )
    if role == "office" and not 1 <= len(label.strip()) <= 200:
        # The label is who signs: it goes into the decision events (1 to 200 characters).
        raise typer.BadParameter(
            "an office token's label is the person's name (1 to 200 characters)",
            param_hint="--label",
        )


async def _create(
    county: str, label: str, branch: str | None, role: str, conn: asyncpg.Connection | None = None
) -> str:
    _check(county, label, branch, role)
    token = new_token()
    await tokens.create(
        conn or await _connect(),
        token_hash=token_hash(token, _pepper()),
        county_code=county,
        branch_id=branch,
        label=label.strip() if role == "office" else label,
        role=role,
    )
    return token


@app.command("signin-link")
def signin_link(
    county: Annotated[str, typer.Option(help="County code the token reads, e.g. 610526.")],
    label: Annotated[str, typer.Option(help="Who holds it, e.g. 党委办.")],
    branch: Annotated[str | None, typer.Option(help="Restrict to this branch's card.")] = None,
    role: Annotated[str, typer.Option(help="reader or office (see token create).")] = "reader",
    base_url: Annotated[
        str, typer.Option(help="Where the dashboard is served.")
    ] = "http://127.0.0.1:8080",
    ttl_seconds: Annotated[
        int, typer.Option(help="How long the code is valid (once).", min=1, max=86_400)
    ] = SIGNIN_CODE_MINUTES * 60,
) -> None:
    """Create a token and print a one-time sign-in link for the dashboard (not the token).

    The link's code works once, for 10 minutes: opening it signs the browser in (a session
    cookie) and redirects to the dashboard, so neither the token nor the code stays in the
    address bar or the history. The token itself is never shown: for the API, use token create."""

    async def run() -> str:
        conn = await _connect()
        token = await _create(county, label, branch, role, conn)
        code = new_code()
        await tokens.create_code(
            conn,
            code_hash=token_hash(code, _pepper()),
            token_hash=token_hash(token, _pepper()),
            ttl_seconds=ttl_seconds,
        )
        return code

    typer.echo(f"{base_url.rstrip('/')}/signin?code={asyncio.run(run())}")


@token_app.command("revoke")
def revoke_token(token: str) -> None:
    """Revoke a token; it answers 401 from now on."""

    async def run() -> bool:
        conn = await _connect()
        return await tokens.revoke(conn, token_hash(token, _pepper()))

    if not asyncio.run(run()):
        typer.echo("no such active token", err=True)
        raise typer.Exit(1)
    typer.echo("revoked")


@app.command()
def rebuild(
    bootstrap_servers: Annotated[
        str, typer.Option(envvar="GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS")
    ] = "127.0.0.1:9092",
    quiet: bool = False,
) -> None:
    """Rebuild the read models from the topics, from the beginning (replay)."""

    async def run() -> int:
        conn = await _connect()
        return await replay(conn, bootstrap_servers, show_progress=not quiet)

    typer.echo(f"replayed {asyncio.run(run())} records")


if __name__ == "__main__":
    app()
