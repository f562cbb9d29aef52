"""A county system installs grassroots-contract alone: in a fresh virtual environment (same
Python, uv's cache) only the contract and pydantic arrive, nothing of the platform's plumbing can
be imported, and every event type's example validates, serialises, round-trips and has its JSON
Schema shipped inside the package. Fails as soon as the package gains a heavier dependency."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

CONTRACT = Path(__file__).resolve().parents[1]
REPO = CONTRACT.parent

# What must not come with the contract (module names), whatever the route.
HEAVY = [
    "faststream",
    "aiokafka",
    "kafka",
    "asyncpg",
    "fastapi",
    "starlette",
    "uvicorn",
    "typer",
    "rich",
    "pydantic_settings",
    "email_validator",
    "prometheus_client",
    "grassroots.plumbing",
]

CHECK = textwrap.dedent(
    """
    import importlib.metadata
    import importlib.util
    import json
    import sys
    from pathlib import Path

    import grassroots.contract
    from grassroots.contract import EVENTS, CloudEvent, kafka_record, new_event, parse_event
    from grassroots.contract import json_schemas
    from grassroots.contract.examples import envelope

    heavy = json.loads(sys.argv[1])
    prefix = Path(sys.prefix).resolve()
    # The installed copy, not the checkout's sources.
    assert Path(grassroots.contract.__file__).resolve().is_relative_to(prefix), (
        grassroots.contract.__file__
    )
    importable = [name for name in heavy if importlib.util.find_spec(name) is not None]
    assert not importable, f"importable next to the contract: {importable}"
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in {"faststream",
        "aiokafka", "asyncpg", "fastapi"})
    assert not loaded, loaded

    # The generated documents come from inside the installed package.
    assert Path(str(json_schemas.folder())).resolve().is_relative_to(prefix)
    assert json_schemas.asyncapi()["asyncapi"] == "3.0.0"

    for event_type, spec in sorted(EVENTS.items()):
        example = envelope(event_type)
        raw = json.dumps(example, ensure_ascii=False).encode()
        event = parse_event(raw, topic=spec.topic)
        assert isinstance(event, spec.envelope_model) and isinstance(event, CloudEvent)
        assert event.type == event_type

        out = event.to_json_bytes()
        again = parse_event(out, topic=spec.topic)
        assert again == event, event_type
        assert again.to_json_bytes() == out, event_type
        # What was sent comes back as sent (the models may add their defaults).
        sent, serialised = example["data"], json.loads(out)["data"]
        assert {key: serialised.get(key) for key in sent} == sent, event_type

        rebuilt = new_event(
            spec.envelope_model,
            event.data,
            source=event.source,
            countycode=event.countycode,
            campaignid=event.campaignid,
            event_id=event.id,
            time=event.time,
        )
        assert rebuilt == event, event_type
        topic, key, value, headers = kafka_record(event)
        assert (topic, key, value) == (spec.topic, event.subject.encode(), out), event_type
        assert headers == (("content-type", b"application/cloudevents+json"),)

        schema = json_schemas.json_schema(event_type)
        assert schema["title"] == event_type and schema["$id"].endswith(":" + event_type)
        assert set(schema["required"]) <= set(example) <= set(schema["properties"]), event_type
        assert schema["properties"]["type"]["const"] == event_type

    installed = sorted(
        d.metadata["Name"] for d in importlib.metadata.distributions()
    )
    print(json.dumps({"types": len(EVENTS), "installed": installed}))
    """
)


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if found is None and (Path.home() / ".local/bin/uv").is_file():
        found = str(Path.home() / ".local/bin/uv")
    if found is None:
        pytest.fail("uv is needed to build the fresh environment (make deps installs it)")
    return found


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked_closure(name: str) -> set[str]:
    """`name` and everything it needs, per uv.lock (extras not followed)."""
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    packages = {package["name"]: package for package in lock["package"]}
    closure: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current not in closure:
            closure.add(current)
            todo += [dep["name"] for dep in packages[current].get("dependencies", [])]
    return closure


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_the_contract_installs_and_works_alone(tmp_path: Path) -> None:
    uv = _uv()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT"}
    }
    env["UV_NO_PROGRESS"] = "1"
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"

    made = _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], tmp_path, env)
    assert made.returncode == 0, made.stderr

    # The locked versions of what the contract needs, so the install is the one we test with
    # (and usually comes from uv's cache alone). A dependency added to contract/pyproject.toml
    # but not locked is still installed, and then caught below.
    constraints = tmp_path / "constraints.txt"
    exported = _run(
        [
            uv, "export", "--frozen", "--package", "grassroots-contract", "--no-dev",
            "--no-hashes", "--no-emit-workspace", "--quiet", "--output-file", str(constraints),
        ],
        REPO,
        env,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr

    install = [uv, "pip", "install", "--quiet", "--python", str(python), "-c", str(constraints)]
    installed = _run([*install, "--offline", str(CONTRACT)], tmp_path, env)
    if installed.returncode != 0:  # something was not in the cache yet
        installed = _run([*install, str(CONTRACT)], tmp_path, env)
    assert installed.returncode == 0, installed.stderr

    script = tmp_path / "check.py"
    script.write_text(CHECK, encoding="utf-8")
    checked = _run([str(python), "-I", str(script), json.dumps(HEAVY)], tmp_path, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout.strip().splitlines()[-1])

    assert report["types"] >= 25
    # Exactly the contract and pydantic with its own dependencies (as locked) — nothing else.
    allowed = {"grassroots-contract"} | _locked_closure("pydantic")
    extra = {_normalize(name) for name in report["installed"]} - allowed
    assert not extra, f"grassroots-contract brought more than pydantic: {sorted(extra)}"
    assert "grassroots-contract" in {_normalize(name) for name in report["installed"]}
