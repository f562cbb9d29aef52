"""A gentle first run: a misconfiguration or a dependency that does not answer is told in ONE
line — which variable or address, what is wrong, what to do — with exit status 2 and no
traceback. Every command line (`grassroots`, `python -m reporting.cli`, `python -m
notification.cli`, …) and every service's `python -m <service>` goes through here.

    with first_run.plainly(settings_class=ServiceSettings):
        ...                      # anything that reads settings or connects

Errors it does not recognise are left as they are (a traceback is then worth reading).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn
from urllib.parse import urlsplit

import asyncpg
import typer
from aiokafka import errors as kafka_errors
from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings

EXIT_MISCONFIGURED = 2
ENV_SCRIPT = ". deploy/env.sh"


class Misconfigured(Exception):
    """A problem already told in one line (the message)."""


def fail(line: str) -> NoReturn:
    print(f"error: {line}", file=sys.stderr)
    sys.exit(EXIT_MISCONFIGURED)


def env_name(settings: type[BaseSettings], field: str) -> str:
    """The environment variable a settings field is read from."""
    info = settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    prefix = settings.model_config.get("env_prefix", "") or ""
    return f"{prefix}{field}".upper()


_SECRET = re.compile(r"PASSWORD|PEPPER|SECRET|TOKEN|CREDENTIAL|DATABASE_URL|DSN", re.IGNORECASE)


def settings_problem(settings: type[BaseSettings], error: ValidationError) -> str:
    """One line for the first bad or missing setting of a settings class."""
    problem = error.errors(include_url=False)[0]
    loc = [str(part) for part in problem["loc"]]
    field = _field_of(settings, loc[0]) if loc else None
    if field is not None:
        name = env_name(settings, field)
        description = (settings.model_fields[field].description or "").rstrip(".")
        meaning = f" ({description})" if description else ""
        if problem["type"] == "missing":
            return f"{name} is not set{meaning}: set it ({ENV_SCRIPT} sets the platform's own)"
        value = os.environ.get(name, "")
        shown = "…" if _SECRET.search(name) else repr(value[:60])
        return f"{name}={shown} is not valid: {problem['msg']}{meaning}"
    # A rule across fields (model validator): its message names the variables.
    message = problem["msg"].removeprefix("Value error, ")
    return f"{settings.__name__}: {message}"


def _field_of(settings: type[BaseSettings], loc: str) -> str | None:
    """The field an error is about: by its name, or by an environment name it is read from."""
    if loc in settings.model_fields:
        return loc
    for name, info in settings.model_fields.items():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        if any(isinstance(c, str) and c.lower() == loc.lower() for c in choices):
            return name
    return None


def _address(url: str | None) -> str:
    if not url:
        return "?"
    try:
        parts = urlsplit(url)
        return f"{parts.hostname or '127.0.0.1'}:{parts.port or 5432}"
    except ValueError:
        return "?"


def database_problem(error: BaseException, url: str | None, variable: str) -> str | None:
    """One line for a database that does not let us in, or does not answer."""
    where = _address(url)
    if isinstance(error, asyncpg.InvalidPasswordError):
        return (
            f"{variable}: password authentication failed at {where} — check the role's "
            f"password ({ENV_SCRIPT} exports the platform's)"
        )
    if isinstance(error, asyncpg.InvalidAuthorizationSpecificationError):
        return f"{variable}: PostgreSQL at {where} refused the role: {error}"
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        return f"{variable}: {error} at {where} — create it (make infra) or correct the URL"
    if isinstance(error, asyncpg.CannotConnectNowError):
        return f"PostgreSQL at {where} ({variable}) is starting or stopping: try again shortly"
    if isinstance(error, (ConnectionError, socket.gaierror, TimeoutError, OSError)):
        return (
            f"PostgreSQL at {where} ({variable}) does not answer: start it (make infra) or "
            "correct the address"
        )
    if isinstance(error, ValueError) and "dsn" in str(error).lower():
        return f"{variable} is not a PostgreSQL URL (postgresql://user:password@host:port/db)"
    return None


def kafka_problem(error: BaseException, bootstrap: str | None) -> str | None:
    """One line for a broker that does not answer or refuses our login."""
    text = f"{type(error).__name__}: {error}"
    # aiokafka names the addresses it tried: "Unable to bootstrap from [('127.0.0.1', 9092, …)]".
    tried = re.findall(r"\('([^']+)', (\d+)", text)
    where = ",".join(f"{host}:{port}" for host, port in tried) or bootstrap or "?"
    variable = "GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS"
    if "Authentication" in text or "SASL" in text:
        return (
            f"Kafka at {where} refused the login: check GRASSROOTS_KAFKA_USERNAME and "
            f"GRASSROOTS_KAFKA_PASSWORD ({ENV_SCRIPT} exports them)"
        )
    if isinstance(error, (kafka_errors.KafkaConnectionError, kafka_errors.KafkaTimeoutError)):
        return (
            f"Kafka at {where} ({variable}) does not answer: start it (make infra) or correct "
            "the address"
        )
    return None


def explain(
    error: BaseException,
    *,
    database_url: str | None = None,
    database_variable: str = "GRASSROOTS_DATABASE_URL",
    bootstrap: str | None = None,
) -> str | None:
    """The one line for an error of a first run, or None when it is not one we know."""
    for cause in _chain(error):
        if isinstance(cause, Misconfigured):
            return str(cause)
        if isinstance(cause, kafka_errors.KafkaError):
            found = kafka_problem(cause, bootstrap)
        elif isinstance(cause, FileNotFoundError):
            found = f"{cause.filename or cause}: no such file — check the path"
        elif isinstance(cause, PermissionError):
            found = f"{cause.filename or cause}: permission denied"
        elif isinstance(cause, (asyncpg.PostgresError, OSError, ValueError)):
            found = database_problem(cause, database_url, database_variable)
        else:
            found = None
        if found:
            return found
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            for inner in current.exceptions:
                yield from _chain(inner)
        current = current.__cause__ or current.__context__


def load(settings: type[Any]) -> Any:
    """The settings from the environment, or one line naming the variable and exit 2."""
    try:
        return settings()
    except ValidationError as error:
        fail(settings_problem(settings, error))
    except Exception as error:  # a file a setting names is missing or unreadable
        line = explain(error)
        if line is None:
            raise
        fail(line)


@contextmanager
def plainly(
    *,
    database_variables: Sequence[str] = ("GRASSROOTS_DATABASE_URL",),
    bootstrap: Callable[[], str | None] | None = None,
) -> Iterator[None]:
    """Run a command's work; a first-run problem in it becomes one line and exit status 2.
    `database_variables`: where the command reads its database URL, in order (the first one
    set is named in the line)."""
    database_variable = next(
        (name for name in database_variables if os.environ.get(name)), database_variables[0]
    )
    try:
        yield
    except ValidationError as error:
        settings = _settings_class(error.title)
        if settings is not None:
            fail(settings_problem(settings, error))
        fail(f"{error.title}: {error.errors(include_url=False)[0]['msg']}")
    except Exception as error:
        line = explain(
            error,
            database_url=os.environ.get(database_variable),
            database_variable=database_variable,
            bootstrap=bootstrap()
            if bootstrap
            else os.environ.get("GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        )
        if line is None:
            raise
        fail(line)


def _settings_class(name: str) -> type[BaseSettings] | None:
    pending: list[type[BaseSettings]] = [BaseSettings]
    while pending:
        cls = pending.pop()
        if cls.__name__ == name and cls is not BaseSettings:
            return cls
        pending += cls.__subclasses__()
    return None


class Typer(typer.Typer):
    """A command line whose commands tell a first-run problem in one line with exit status 2
    (`plainly`), never a traceback; the Kafka client's own reconnection noise is kept quiet
    (what fails reaches the command as an error)."""

    def __init__(
        self, *, database_variables: Sequence[str] = ("GRASSROOTS_DATABASE_URL",), **options: Any
    ) -> None:
        options.setdefault("pretty_exceptions_enable", False)
        options.setdefault("add_completion", False)
        super().__init__(**options)
        self.database_variables = tuple(database_variables)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
        with plainly(database_variables=self.database_variables):
            return super().__call__(*args, **kwargs)
