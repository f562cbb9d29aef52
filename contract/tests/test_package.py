"""grassroots-contract is a package a county system can depend on: pydantic only, its version is
the contract's, and `grassroots` stays a namespace shared with the platform's plumbing."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import grassroots
import grassroots.contract
from grassroots.contract import CONTRACT_VERSION

CONTRACT = Path(__file__).resolve().parents[1]
REPO = CONTRACT.parent
SOURCES = CONTRACT / "src" / "grassroots" / "contract"


def test_pydantic_is_the_only_dependency() -> None:
    project = tomllib.loads((CONTRACT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "grassroots-contract"
    assert [dep.split(">")[0].split("[")[0] for dep in project["dependencies"]] == ["pydantic"]
    assert "[" not in project["dependencies"][0], "no extras: emails are checked by a pattern"


def test_the_package_version_is_the_contract_version() -> None:
    project = tomllib.loads((CONTRACT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == CONTRACT_VERSION


def test_the_sources_import_only_the_standard_library_pydantic_and_the_contract() -> None:
    found: dict[str, set[str]] = {}
    for path in sorted(SOURCES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                allowed = top in sys.stdlib_module_names or top in {"__future__", "pydantic"}
                if not allowed and not name.startswith("grassroots.contract"):
                    found.setdefault(path.name, set()).add(name)
    assert not found, f"the contract imports beyond pydantic: {found}"


def test_grassroots_is_a_namespace_package_of_two_distributions() -> None:
    assert not (CONTRACT / "src" / "grassroots" / "__init__.py").exists()
    assert not (REPO / "shared" / "src" / "grassroots" / "__init__.py").exists()
    assert getattr(grassroots, "__file__", None) is None  # a namespace package has no file
    portions = {Path(portion).resolve() for portion in grassroots.__path__}
    assert CONTRACT / "src" / "grassroots" in portions
    assert REPO / "shared" / "src" / "grassroots" in portions
    assert Path(grassroots.contract.__file__).resolve().parent == SOURCES
