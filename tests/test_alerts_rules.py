"""The alert rules (deploy/prometheus/rules.yml) checked and unit-tested by Prometheus's own
promtool, and every metric they name exported by the services.

promtool comes from Debian's prometheus package, unpacked by `make prometheus` (a prerequisite
of `make test`); without it these tests fail, they do not skip.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
UNPACKED = REPO / ".local" / "tools" / "prometheus" / "usr" / "bin"
# The modules that declare metrics: the plumbing's and each service's own.
METRIC_MODULES = (
    "grassroots.plumbing.metrics",
    "grading.app",
    "rectification.app",
    "notification.app",
    "reporting.app",
)
# Made by Prometheus itself, not by a service.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}


def tool(name: str) -> str:
    """A Prometheus binary: the unpacked Debian one, else one on PATH."""
    unpacked = UNPACKED / name
    if unpacked.exists():
        return str(unpacked)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: run `make prometheus` (Debian's package, unpacked)")
    return found


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@cache
def exported_series() -> frozenset[str]:
    """Every series name the services can export (metrics are declared at import)."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    names = set(PROMETHEUS_SERIES)
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return frozenset(names)


def grassroots_names(expression: str) -> set[str]:
    return set(re.findall(r"\bgrassroots_[a-z0-9_]+", expression))


def test_the_rules_and_the_config_load() -> None:
    rules = promtool("check", "rules", "rules.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = promtool("check", "config", "prometheus.yml")  # it loads rules.yml too
    assert config.returncode == 0, config.stdout + config.stderr


def test_the_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", "rules_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_each_alert_has_a_unit_test_and_an_entry_in_the_operations_guide() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text(encoding="utf-8"))
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((PROMETHEUS_DIR / "rules_test.yml").read_text(encoding="utf-8"))
    tested = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts == tested
    guide = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    assert {alert for alert in alerts if f"`{alert}`" not in guide} == set()


def test_every_metric_an_alert_names_is_exported() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text(encoding="utf-8"))
    named = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in grassroots_names(rule["expr"])
    }
    assert named, "no rule names a grassroots metric"
    assert named - exported_series() == set()
