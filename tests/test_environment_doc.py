"""docs/environment.md is the one table of every environment variable: generated from the
settings classes (so it cannot disagree with them), every field says what it means, and every
variable the code reads by name is in it."""

from __future__ import annotations

import re
from pathlib import Path

from grassroots import environment

REPO = Path(__file__).resolve().parents[1]
READ_BY_NAME = re.compile(
    r"""(?:environ\.get\(|environ\[|getenv\(|envvar=)\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def test_the_table_is_generated_from_the_settings_as_they_are() -> None:
    assert environment.DOCUMENT.read_text(encoding="utf-8") == environment.document(), (
        "docs/environment.md is stale: python -m grassroots.environment write"
    )


def test_every_setting_says_what_it_means() -> None:
    assert environment.undescribed() == []


def test_every_variable_the_code_reads_is_in_the_table() -> None:
    sources = [
        *(REPO / "shared" / "src").rglob("*.py"),
        *(REPO / "contract" / "src").rglob("*.py"),
        *(
            path
            for service in environment.SERVICES
            for path in (REPO / "services" / service / service).rglob("*.py")
        ),
    ]
    read = {
        (name, path.relative_to(REPO).as_posix())
        for path in sources
        for name in READ_BY_NAME.findall(path.read_text(encoding="utf-8"))
    }
    documented = environment.documented_names()
    assert sorted(f"{name} ({where})" for name, where in read if name not in documented) == []


def test_a_service_names_what_it_cannot_start_without() -> None:
    assert environment.required_variables("reporting") == [
        "GRASSROOTS_DATABASE_URL",
        "GRASSROOTS_TOKEN_PEPPER",
    ]
