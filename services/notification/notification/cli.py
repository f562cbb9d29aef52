"""Operator commands of the notification service.

python -m notification.cli inbox-token <org_id>    # the token that opens that inbox
"""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import TypeAdapter, ValidationError

from grassroots import first_run
from grassroots.contract.common import Identifier
from notification import inbox_tokens
from notification.config import NotificationSettings

app = first_run.Typer(help="Notification service operations.", no_args_is_help=True)


@app.command("inbox-token")
def inbox_token(
    org_id: Annotated[str, typer.Argument(help="The organisation, e.g. 610526-edu-0007.")],
) -> None:
    """Print the token that opens this organisation's inbox (give it to its secretary)."""
    try:
        TypeAdapter(Identifier).validate_python(org_id)
    except ValidationError as error:
        raise typer.BadParameter(error.errors()[0]["msg"], param_hint="org_id") from error
    secret = NotificationSettings().inbox_token_secret
    if secret is None:
        raise first_run.Misconfigured(
            "INBOX_TOKEN_SECRET is not set (the key of the inbox tokens): set it "
            "(. deploy/env.sh exports it)"
        )
    typer.echo(inbox_tokens.issue(secret.get_secret_value(), org_id))


@app.callback()
def main() -> None:
    """Notification service operations."""


if __name__ == "__main__":
    app()
