"""Every environment variable of the platform in one table (docs/environment.md), generated from
the settings classes' field descriptions — ServiceSettings (with the Kafka settings it extends)
and each service's own settings in services/<name>/<name>/config.py — and from the few
variables read directly, listed in OTHER below. A test fails when the document drifts, when a
field has no description, or when the code reads a variable the table does not name.

    python -m grassroots.environment write    # regenerate docs/environment.md
    python -m grassroots.environment check    # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from grassroots.plumbing.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[3]
DOCUMENT = REPO / "docs" / "environment.md"
SERVICES = ("grading", "rectification", "notification", "reporting", "intake")


@dataclass(frozen=True)
class Variable:
    names: tuple[str, ...]  # the first is the one to set; the others are read too
    default: str
    meaning: str


OTHER: dict[str, list[Variable]] = {
    "Tracing (OpenTelemetry, read by every service)": [
        Variable(
            ("OTEL_EXPORTER_OTLP_ENDPOINT",),
            "unset: tracing off",
            "Where spans are sent over OTLP/HTTP, e.g. http://127.0.0.1:4318 (the standard "
            "variable; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, _HEADERS, _TIMEOUT… apply as usual).",
        ),
        Variable(
            ("OTEL_TRACES_EXPORTER",),
            "otlp when an endpoint is set",
            "none: no spans exported even with an endpoint; otlp: export (to localhost:4318 "
            "when no endpoint is set).",
        ),
        Variable(
            ("OTEL_SERVICE_NAME",),
            "the service's name",
            "The service.name of the spans (OTEL_RESOURCE_ATTRIBUTES adds others).",
        ),
        Variable(
            ("OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"),
            "parentbased_always_on",
            "Which traces are recorded, e.g. parentbased_traceidratio with 0.1.",
        ),
        Variable(("OTEL_SDK_DISABLED",), "false", "true: no tracing at all."),
    ],
    "Command line and tools": [
        Variable(
            ("GRASSROOTS_INTAKE_CREDENTIAL",),
            "required by grassroots import --intake",
            "The county system's intake credential that `grassroots import` sends with; the "
            "reporting dashboard's own, for its Excel import page.",
        ),
        Variable(
            ("GRASSROOTS_COUNTY_CODE",),
            "—",
            "grassroots import: the county (6 digits) when --county is not given.",
        ),
        Variable(
            ("REPORTING_DATABASE_URL",),
            "—",
            "python -m reporting.cli: the reporting role's URL, when GRASSROOTS_DATABASE_URL "
            "is not set (deploy/env.sh exports one per service: GRADING_DATABASE_URL, …).",
        ),
        Variable(
            ("INTAKE_DATABASE_URL",),
            "—",
            "python -m intake.cli: the intake role's URL, when GRASSROOTS_DATABASE_URL is not set.",
        ),
        Variable(
            ("GRASSROOTS_ADMIN_DSN",),
            "set by deploy/env.sh",
            "Tests and tools only: a PostgreSQL superuser URL (scratch schemas, migrations).",
        ),
        Variable(
            ("GRASSROOTS_CONTRACT_SITE",),
            "contract/html",
            "reporting: the folder of the contract's HTML documentation it serves at /contract/.",
        ),
        Variable(
            ("GRASSROOTS_CHROMIUM",),
            "chromium on the PATH",
            "reporting: the Chromium that prints the PDF documents.",
        ),
    ],
}


def service_settings(service: str) -> list[type[BaseSettings]]:
    """The settings classes of services/<service>/<service>/config.py (none when it has none)."""
    if not (REPO / "services" / service / service / "config.py").is_file():
        return []
    module = importlib.import_module(f"{service}.config")
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BaseSettings)
        and value is not BaseSettings
        and value.__module__ == module.__name__
    ]


def env_names(settings: type[BaseSettings], name: str, field: FieldInfo) -> tuple[str, ...]:
    alias = field.validation_alias
    if isinstance(alias, str):
        return (alias,)
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    prefix = str(settings.model_config.get("env_prefix") or "")
    return (f"{prefix}{name}".upper(),)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is None or value is PydanticUndefined:
        return "—"
    if isinstance(value, Path):
        try:
            return f"`{value.relative_to(REPO)}`"
        except ValueError:
            return f"`{value}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (dict, list)):
        return f"`{json.dumps(value)}`"
    return f"`{getattr(value, 'value', value)}`"


def variables(settings: type[BaseSettings]) -> list[Variable]:
    """One row per field of a settings class."""
    return [
        Variable(env_names(settings, name, field), _default(field), field.description or "")
        for name, field in settings.model_fields.items()
    ]


def undescribed() -> list[str]:
    """Fields of any settings class without a description (each must say what it means)."""
    classes: list[type[BaseSettings]] = [
        ServiceSettings,
        *(c for s in SERVICES for c in service_settings(s)),
    ]
    return [
        f"{cls.__name__}.{name}"
        for cls in classes
        for name, field in cls.model_fields.items()
        if not (field.description or "").strip()
    ]


def required_variables(service: str) -> list[str]:
    """The variables a service cannot start without."""
    found = []
    classes: list[type[BaseSettings]] = [ServiceSettings, *service_settings(service)]
    for cls in classes:
        for name, field in cls.model_fields.items():
            if field.is_required():
                found.append(env_names(cls, name, field)[0])
    return found


def _table(rows: Sequence[Variable]) -> list[str]:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for row in rows:
        names = f"`{row.names[0]}`" + "".join(f" (or `{n}`)" for n in row.names[1:])
        meaning = " ".join(row.meaning.split()).replace("|", "\\|")
        lines.append(f"| {names} | {row.default} | {meaning} |")
    return lines


def document() -> str:
    lines = [
        "# Environment variables",
        "",
        "Every variable the platform reads, with its default and meaning. Generated from the",
        "settings classes' field descriptions by `python -m grassroots.environment write`; do",
        "not edit by hand (`make test` fails when it drifts). `. deploy/env.sh` sets what this",
        "machine needs; a missing or bad value stops a service or command with one line naming",
        "the variable (exit status 2).",
        "",
        "## Every service",
        "",
        "`ServiceSettings` (shared/src/grassroots/plumbing/settings.py), read by each service",
        "(each with its own values: its database role, its Kafka user, its port).",
        "",
        *_table(variables(ServiceSettings)),
    ]
    for service in SERVICES:
        for cls in service_settings(service):
            lines += [
                "",
                f"## {service}",
                "",
                f"`{cls.__name__}` (services/{service}/{service}/config.py).",
                "",
                *_table(variables(cls)),
            ]
    for heading, rows in OTHER.items():
        lines += ["", f"## {heading}", "", *_table(rows)]
    return "\n".join(lines) + "\n"


def documented_names() -> set[str]:
    """Every variable name the table gives."""
    classes: list[type[BaseSettings]] = [
        ServiceSettings,
        *(c for s in SERVICES for c in service_settings(s)),
    ]
    rows = [row for cls in classes for row in variables(cls)]
    rows += [row for group in OTHER.values() for row in group]
    return {name for row in rows for name in row.names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grassroots.environment",
        description="The table of environment variables (docs/environment.md).",
    )
    parser.add_argument("command", choices=("write", "check"))
    args = parser.parse_args(argv)
    text = document()
    if args.command == "write":
        DOCUMENT.write_text(text, encoding="utf-8")
        print(f"wrote {DOCUMENT.relative_to(REPO)}")
        return 0
    if not DOCUMENT.is_file() or DOCUMENT.read_text(encoding="utf-8") != text:
        print(
            f"{DOCUMENT.relative_to(REPO)} is stale: python -m grassroots.environment write",
            file=sys.stderr,
        )
        return 1
    missing = undescribed()
    if missing:
        print("fields without a description: " + ", ".join(missing), file=sys.stderr)
        return 1
    print(f"{DOCUMENT.relative_to(REPO)} is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
