"""docker-compose.yml, the Dockerfile and their config, checked without a Docker engine.

The compose file is loaded by deploy/compose-check (a small Go program on the Compose
Specification's own loader, compose-go, the library `docker compose` is built on), which
prints a JSON summary; the tests compare that summary with the code: the services'
packages, their settings classes, the Dockerfile, the Prometheus config and uv.lock.
Go is required (CI has it): without it these tests fail, they do not skip.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic_settings import BaseSettings

from grassroots.plumbing.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[1]
CHECKER = REPO / "deploy" / "compose-check" / "run.sh"
# The one Dockerfile; each service is built from it with SERVICE=<name>.
DOCKERFILE = REPO / "deploy" / "Dockerfile"
# The five services and the HTTP port each one serves /healthz and /metrics on.
SERVICES = {
    "reporting": 8080,
    "grading": 8081,
    "rectification": 8082,
    "notification": 8083,
    "intake": 8084,
}
INFRA = {"kafka", "postgres", "topics", "prometheus", "grafana"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PEPPER|PRIVATE|CREDENTIAL|API_?KEY")


def run_checker(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("go") is None:
        pytest.fail(
            "Go is not installed: deploy/compose-check (the compose file's validator) is a Go "
            "program built on first use. Install Go >= 1.24; CI has it, so this is not skipped."
        )
    return subprocess.run(
        ["bash", str(CHECKER), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,  # a cold build downloads the modules and compiles them
        check=False,
    )


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    result = run_checker()
    assert result.returncode == 0, (
        f"the compose loader rejected docker-compose.yml:\n{result.stderr}"
    )
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def services(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {service["name"]: service for service in summary["services"]}


def env_example() -> dict[str, str]:
    values = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def secret_names() -> list[str]:
    return sorted(name for name in env_example() if SECRET_NAME.search(name))


# ------------------------------------------------------------------- the loader


def test_loader_accepts_the_compose_file(summary: dict[str, Any]) -> None:
    assert summary["project"] == "grassroots"
    names = {service["name"] for service in summary["services"]}
    assert set(SERVICES) <= names, (
        f"services missing from docker-compose.yml: {set(SERVICES) - names}"
    )
    assert names <= set(SERVICES) | INFRA, f"unexpected services: {names - set(SERVICES) - INFRA}"
    assert names >= INFRA, f"infrastructure missing: {INFRA - names}"


def test_summary_never_prints_a_secret(summary: dict[str, Any]) -> None:
    text = json.dumps(summary)
    for name in secret_names():
        assert env_example()[name] not in text, f"the value of {name} leaked into the summary"


# ------------------------------------------------------------- images and the Dockerfile


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of each instruction, continuation lines joined, comments dropped."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def build_stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions:
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def expand(text: str, values: dict[str, str]) -> str:
    """$NAME and ${NAME} replaced for the names in values, as the builder does for ARGs."""
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", lambda m: values.get(m[1] or m[2], m[0]), text)


def env_assignments(rest: str) -> dict[str, str]:
    """The NAME=value pairs of an ENV instruction."""
    return dict(word.partition("=")[::2] for word in shlex.split(rest))


def required_build_args() -> set[str]:
    """The ARGs of the Dockerfile without a default: every build must pass them."""
    return {
        rest
        for keyword, rest in dockerfile_instructions(DOCKERFILE)
        if keyword == "ARG" and "=" not in rest
    }


def workspace_members(distribution: str) -> set[str]:
    """Folders of the workspace members `uv sync --package <distribution>` installs."""
    packages = locked_packages()
    sources = [packages[dist]["source"] for dist in locked_closure(distribution)]
    return {source["editable"] for source in sources if "editable" in source}


def test_one_dockerfile_for_every_service() -> None:
    found = {
        path
        for pattern in ("Dockerfile*", "*/Dockerfile*", "*/*/Dockerfile*")
        for path in REPO.glob(pattern)
    }
    assert found == {DOCKERFILE}, sorted(str(path.relative_to(REPO)) for path in found)
    # BuildKit would read it instead of the root .dockerignore.
    assert not DOCKERFILE.with_name("Dockerfile.dockerignore").exists()


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_built_from_the_dockerfile(
    name: str, services: dict[str, dict[str, Any]]
) -> None:
    service = services[name]
    assert service.get("build") == {
        "context": ".",
        "dockerfile": DOCKERFILE.relative_to(REPO).as_posix(),
        "args": {"SERVICE": name, "HTTP_PORT": str(SERVICES[name])},
    }, f"{name} must be built with context ., {DOCKERFILE.relative_to(REPO)} and its own args"
    # The image's CMD is what runs; compose must not replace it.
    assert not service.get("command"), f"{name}: compose overrides the image's CMD"
    assert not service.get("entrypoint"), f"{name}: compose overrides the entrypoint"


def test_every_build_names_a_service_package(summary: dict[str, Any]) -> None:
    builds = {s["name"]: s["build"] for s in summary["services"] if s.get("build")}
    assert set(SERVICES) <= set(builds)
    for compose_name, build in builds.items():
        assert build["context"] == "."
        assert build["dockerfile"] == DOCKERFILE.relative_to(REPO).as_posix()
        args = build.get("args") or {}
        assert set(args) == required_build_args(), f"{compose_name}: build args {args}"
        service = args["SERVICE"]
        folder = REPO / "services" / service
        assert (folder / "pyproject.toml").is_file(), f"{compose_name}: SERVICE={service}"
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        assert project["name"] == f"grassroots-{service}", f"{compose_name}: {folder}"
        assert (folder / service / "__main__.py").is_file(), f"{compose_name}: no __main__"
        assert args["HTTP_PORT"] == str(SERVICES[service]), f"{compose_name}: {args}"


def test_dockerfile_declares_every_variable_in_its_stage() -> None:
    """An ARG does not cross FROM; used undeclared, it expands to "" without an error."""
    for stage in build_stages(dockerfile_instructions(DOCKERFILE)):
        declared = {"PATH"}  # the base image's
        for keyword, rest in stage[1:]:
            if keyword not in {"CMD", "HEALTHCHECK"}:  # these expand at run time, in a shell
                used = set(re.findall(r"\$\{?([A-Za-z_]\w*)", rest))
                assert used <= declared, f"{keyword} {rest}: {used - declared} undeclared here"
            if keyword == "ARG":
                declared.add(rest.partition("=")[0])
            elif keyword == "ENV":
                declared |= set(env_assignments(rest))


@pytest.mark.parametrize("name", SERVICES)
def test_dockerfile(name: str, services: dict[str, dict[str, Any]]) -> None:
    """The Dockerfile as the builder sees it with the build args compose passes for name."""
    args = services[name]["build"]["args"]
    instructions = [
        (keyword, rest if keyword in {"CMD", "HEALTHCHECK"} else expand(rest, args))
        for keyword, rest in dockerfile_instructions(DOCKERFILE)
    ]
    by_keyword: dict[str, list[str]] = {}
    for keyword, rest in instructions:
        by_keyword.setdefault(keyword, []).append(rest)

    bases = [rest.split()[0] for rest in by_keyword["FROM"]]
    assert bases and all(base == "python:3.11-slim" for base in bases), bases
    runs = " ".join(by_keyword.get("RUN", []))
    assert "pip install uv==0.13.8" in runs

    # Two syncs: the locked dependencies alone (a layer that survives source edits), then
    # the workspace members. Before each, only what it needs is copied from the context:
    # the root files and the pyproject.toml, then the folder, of each member it installs.
    sync = f"uv sync --frozen --no-dev --package grassroots-{name}"
    runs_at = [i for i, (keyword, _) in enumerate(instructions) if keyword == "RUN"]
    deps = next(i for i in runs_at if f"{sync} --no-install-workspace" in instructions[i][1])
    code = next(i for i in runs_at if re.search(rf"{sync}(?! --no-install)", instructions[i][1]))
    assert deps < code
    manifests: set[str] = set()
    folders: set[str] = set()
    for i, (keyword, rest) in enumerate(instructions):
        words = shlex.split(rest)
        if keyword != "COPY" or any(word.startswith("--from") for word in words):
            continue
        assert i < code, f"COPY {rest} after the last sync"
        *sources, target = [word for word in words if not word.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source} does not exist"
            # The repository's layout: workspace globs and editable installs rely on it.
            where = source if source.endswith("/") else f"{Path(source).parent}/"
            assert target == where, f"COPY {rest}: {source} belongs in {where}"
            (manifests if i < deps else folders).add(source)
    members = workspace_members(f"grassroots-{name}")
    assert manifests == {"pyproject.toml", "uv.lock"} | {f"{m}/pyproject.toml" for m in members}
    assert folders == {f"{m}/" for m in members}, f"the members it installs are {members}"

    final_stage = build_stages(instructions)[-1]
    users = [rest for keyword, rest in final_stage if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, "must run as a non-root user"
    env: dict[str, str] = {}
    for keyword, rest in final_stage:
        if keyword == "ENV":
            env |= env_assignments(rest)
    assert "/app/.venv/bin" in env["PATH"].split(":")

    # The port: exposed, the service's setting, and what the healthcheck asks (read at run
    # time, so that a GRASSROOTS_HTTP_PORT set by compose is the one probed).
    assert env["GRASSROOTS_HTTP_PORT"] == str(SERVICES[name])
    assert by_keyword.get("EXPOSE") == [str(SERVICES[name])]
    healthcheck = " ".join(by_keyword.get("HEALTHCHECK", []))
    assert "urllib" in healthcheck and "/healthz" in healthcheck
    assert "os.environ['GRASSROOTS_HTTP_PORT']" in healthcheck, healthcheck

    # Exec-form CMD does not expand ARGs: SERVICE comes from the image's environment.
    cmd = json.loads(by_keyword["CMD"][-1])
    assert cmd == ["sh", "-c", 'exec python -m "$SERVICE"'], f"CMD {cmd}"
    assert env["SERVICE"] == name
    assert (REPO / "services" / name / name / "__main__.py").is_file()


def test_dockerignore_keeps_the_context_small_and_secret_free() -> None:
    patterns = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".local", ".env"} <= patterns
    assert "**/__pycache__" in patterns


def test_topics_job_runs_the_cli_from_the_grading_image(
    services: dict[str, dict[str, Any]],
) -> None:
    topics = services["topics"]
    assert topics["build"] == services["grading"]["build"]
    assert topics["command"] == ["grassroots", "topics", "create"]
    assert topics["environment_values"]["GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert topics["depends_on"] == {"kafka": "service_healthy"}
    assert topics["restart"] == "no"


# ------------------------------------------------------------------ environment


def settings_classes(name: str) -> list[type[BaseSettings]]:
    """ServiceSettings, plus any settings class in services/<name>/<name>/config.py."""
    classes: list[type[BaseSettings]] = [ServiceSettings]
    if (REPO / "services" / name / name / "config.py").is_file():
        module = importlib.import_module(f"{name}.config")
        classes += [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, BaseSettings) and obj is not BaseSettings
        ]
    return classes


def settings_env_names(name: str) -> tuple[set[str], set[str]]:
    """The environment variables the service reads, and those of them without a default."""
    known, required = set(), set()
    for cls in settings_classes(name):
        prefix = str(cls.model_config.get("env_prefix") or "")
        for field_name, field in cls.model_fields.items():
            env_names = {f"{prefix}{field_name}".upper()}
            alias = field.validation_alias or field.alias
            if isinstance(alias, str):
                env_names = {alias.upper()}
            known |= env_names
            if field.is_required():
                required |= env_names
    return known, required


@pytest.mark.parametrize("name", SERVICES)
def test_every_grassroots_variable_is_a_setting(
    name: str, services: dict[str, dict[str, Any]]
) -> None:
    known, required = settings_env_names(name)
    names = set(services[name]["environment"])
    unknown = {n for n in names if n.startswith("GRASSROOTS_")} - known
    assert not unknown, f"{name}: compose sets {sorted(unknown)}, which no settings class reads"
    assert required <= names, f"{name}: required settings not set: {sorted(required - names)}"


def test_topics_job_variables_are_settings(services: dict[str, dict[str, Any]]) -> None:
    known, _ = settings_env_names("grading")
    names = {n for n in services["topics"]["environment"] if n.startswith("GRASSROOTS_")}
    assert names <= known, sorted(names - known)


@pytest.mark.parametrize("name", SERVICES)
def test_database_url_is_the_services_own_role(
    name: str, services: dict[str, dict[str, Any]]
) -> None:
    url = urlsplit(services[name]["environment_values"]["GRASSROOTS_DATABASE_URL"])
    assert url.scheme == "postgresql"
    assert url.username == name, "role name = service name"
    assert url.password == "***", "the password must come from a secret variable"
    assert (url.hostname, url.port, url.path) == ("postgres", 5432, "/grassroots")
    # The init script creates that role with the password the service is given.
    postgres_env = set(services["postgres"]["environment"])
    assert f"{name.upper()}_DB_PASSWORD" in postgres_env
    init_script = (REPO / "deploy/postgres/docker-init.sh").read_text()
    assert re.search(rf"^services=\(.*\b{name}\b.*\)$", init_script, re.MULTILINE)


@pytest.mark.parametrize("name", SERVICES)
def test_http_port_is_the_published_container_port(
    name: str, services: dict[str, dict[str, Any]]
) -> None:
    service = services[name]
    env = service["environment_values"]
    assert env.get("GRASSROOTS_HTTP_HOST") == "0.0.0.0", "must listen beyond the container"
    ports = service["ports"]
    assert len(ports) == 1, f"{name} publishes {ports}"
    assert env.get("GRASSROOTS_HTTP_PORT") == str(ports[0]["target"])
    assert service["build"]["args"]["HTTP_PORT"] == str(ports[0]["target"]), "EXPOSE, healthcheck"
    assert ports[0]["target"] == SERVICES[name]
    assert ports[0]["published"] == str(SERVICES[name])


def test_ports_are_published_on_loopback_only(summary: dict[str, Any]) -> None:
    for service in summary["services"]:
        for port in service["ports"]:
            assert port["host_ip"] == "127.0.0.1", f"{service['name']} publishes {port}"
            assert port["published"], f"{service['name']}: a random host port is not reproducible"


def test_services_wait_for_healthy_infrastructure(services: dict[str, dict[str, Any]]) -> None:
    for infra in ("kafka", "postgres", "prometheus"):
        assert services[infra].get("healthcheck"), f"{infra} needs a healthcheck"
    for name in SERVICES:
        assert services[name]["depends_on"] == {
            "kafka": "service_healthy",
            "postgres": "service_healthy",
            "topics": "service_completed_successfully",
        }


def test_mounted_files_exist_and_are_read_only(summary: dict[str, Any]) -> None:
    mounts = [
        (service["name"], volume)
        for service in summary["services"]
        for volume in service["volumes"]
        if volume["type"] == "bind"
    ]
    assert mounts
    for name, volume in mounts:
        assert (REPO / volume["source"]).exists(), f"{name}: {volume['source']} does not exist"
        assert volume["read_only"], f"{name}: {volume['source']} should be mounted read-only"
    init = REPO / "deploy/postgres/docker-init.sh"
    assert init.stat().st_mode & 0o111, "the init script must be executable"


# ---------------------------------------------------------------------- secrets


def test_env_example_lists_every_variable_compose_uses() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    assert used, "docker-compose.yml interpolates nothing?"
    assert used <= set(env_example()), (
        f"missing from .env.example: {sorted(used - set(env_example()))}"
    )
    for name in used:
        if SECRET_NAME.search(name):
            assert re.search(rf"\$\{{{name}:\?", text), f"{name} must be written ${{{name}:?...}}"
            assert not re.search(rf"\$\{{{name}(:?-|\}})", text), f"{name} has a default somewhere"


def test_env_example_holds_placeholders_not_secrets() -> None:
    for name in secret_names():
        assert env_example()[name].startswith("change-me"), f".env.example: {name} looks real"


def test_secrets_are_required_variables() -> None:
    secrets = secret_names()
    expected = {f"{name.upper()}_DB_PASSWORD" for name in SERVICES} | {"POSTGRES_PASSWORD"}
    assert expected <= set(secrets), secrets
    empty = run_checker("-empty-env")
    assert empty.returncode != 0, "the loader accepted the file with no secrets set"
    for name in secrets:
        assert f"required variable {name} is missing" in empty.stderr, (name, empty.stderr)


@pytest.mark.parametrize("name", secret_names())
def test_each_secret_alone_is_required(name: str) -> None:
    result = run_checker("-unset", name)
    assert result.returncode != 0, f"the loader accepted the file without {name}"
    assert f"required variable {name} is missing" in result.stderr, result.stderr


# ------------------------------------------------------------------- monitoring


def test_prometheus_scrapes_exactly_the_five_services(services: dict[str, dict[str, Any]]) -> None:
    config = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    targets = set()
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics"
        assert job.get("scheme", "http") == "http"
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, _, port = target.rpartition(":")
                targets.add((host, int(port)))
    assert targets == set(SERVICES.items())
    for host, port in targets:
        assert services[host]["environment_values"]["GRASSROOTS_HTTP_PORT"] == str(port)


def test_grafana_has_anonymous_viewers_and_the_prometheus_datasource(
    services: dict[str, dict[str, Any]],
) -> None:
    env = services["grafana"]["environment_values"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == "***"
    path = REPO / "deploy/grafana/provisioning/datasources/prometheus.yml"
    datasources = yaml.safe_load(path.read_text())["datasources"]
    assert [(d["type"], d["url"]) for d in datasources] == [
        ("prometheus", "http://prometheus:9090")
    ]
    assert any(port["target"] == 9090 for port in services["prometheus"]["ports"])
    mounted = {v["source"] for v in services["grafana"]["volumes"] if v["type"] == "bind"}
    assert any(path.relative_to(REPO).as_posix().startswith(source) for source in mounted)


# ------------------------------------------------- what the images install


def runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:` (not imported at run time)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def third_party_imports(name: str) -> set[str]:
    """Top-level third-party modules reached from `python -m <name>` and the `grassroots` CLI,
    following the workspace's own modules (grassroots.*, <name>.*) transitively."""
    # `grassroots` is a namespace package: the contract (contract/src) and the plumbing (shared/src).
    roots = {
        "grassroots": [REPO / "contract/src/grassroots", REPO / "shared/src/grassroots"],
        name: [REPO / "services" / name / name],
    }

    def module_file(module: str) -> Path | None:
        top, *rest = module.split(".")
        for root in roots[top]:
            base = root.joinpath(*rest)
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    return candidate
        return None

    found: set[str] = set()
    seen: set[str] = set()
    todo = [f"{name}.__main__", "grassroots.cli"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = module_file(module)
        if path is None:
            continue
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in runtime_nodes(ast.parse(path.read_text(), str(path))):
            imported: list[str] = []
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                imported = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for full in imported:
                top = full.split(".")[0]
                if top in roots:
                    parts = full.split(".")
                    todo += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
                elif top and top not in sys.stdlib_module_names and top != "__future__":
                    found.add(top)
    return found


@cache
def locked_packages() -> dict[str, dict[str, Any]]:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return {package["name"]: package for package in lock["package"]}


def locked_closure(distribution: str) -> set[str]:
    """What `uv sync --frozen --no-dev --package <distribution>` installs (markers ignored)."""
    packages = locked_packages()
    closure: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(distribution, ())]
    while todo:
        dist, extras = todo.pop()
        package = packages[dist]
        new = dist not in closure
        closure.add(dist)
        deps = list(package.get("dependencies", [])) if new else []
        for extra in extras:
            deps += package.get("optional-dependencies", {}).get(extra, [])
        todo += [(dep["name"], tuple(dep.get("extra", ()))) for dep in deps]
    return closure


def normalize(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


@pytest.mark.parametrize("name", SERVICES)
def test_image_installs_everything_the_service_imports(name: str) -> None:
    closure = locked_closure(f"grassroots-{name}")
    owners = packages_distributions()
    missing = {}
    for module in sorted(third_party_imports(name)):
        distributions = {normalize(d) for d in owners.get(module, [])}
        if not distributions & closure:
            missing[module] = sorted(distributions) or ["(not installed at all)"]
    assert not missing, (
        f"`uv sync --frozen --no-dev --package grassroots-{name}` (the image) lacks "
        f"modules the service imports: {missing}"
    )
