"""The Grafana dashboard (deploy/grafana/dashboards/grassroots.json), checked without a Grafana.

Grafana itself cannot be installed here from a package registry, so the dashboard is loaded by
deploy/grafana/check — a small Go program on the Grafana Foundation SDK, whose types are
generated from Grafana's own dashboard, panel and Prometheus query schemas, read strictly (an
unknown field, a wrong type, a missing required field fail). Then every query is parsed by
promtool, and every metric it names must be one the services export. Compose provisions it.
Go is required (as for tests/test_compose.py): without it these tests fail, they do not skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_alerts_rules import exported_series, grassroots_names, tool

REPO = Path(__file__).resolve().parents[1]
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "grassroots.json"
CHECKER = REPO / "deploy" / "grafana" / "check" / "run.sh"
PROVISIONING = REPO / "deploy" / "grafana" / "provisioning"
# Grafana's own variables, given values a Prometheus query can hold.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$service": ".*"}


@cache
def checked() -> dict[str, Any]:
    if shutil.which("go") is None:
        pytest.fail("Go is not installed: deploy/grafana/check is a Go program built on first use")
    result = subprocess.run(
        ["bash", str(CHECKER), str(DASHBOARD)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,  # a cold build downloads the SDK and compiles it
        check=False,
    )
    assert result.stdout, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout.splitlines()[0])
    summary["returncode"] = result.returncode
    return summary


def promql(expression: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expression = expression.replace(variable, value)
    return expression


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def variable_queries() -> list[str]:
    return [
        variable["definition"]
        for variable in dashboard()["templating"]["list"]
        if variable["type"] == "query"
    ]


def test_grafana_schema_accepts_the_dashboard() -> None:
    summary = checked()
    assert summary["errors"] == []
    assert summary["returncode"] == 0
    assert summary["title"] == "Grassroots"
    assert len(summary["queries"]) >= len(summary["panels"]) >= 10


def test_it_shows_throughput_lag_latency_dead_letters_and_deliveries() -> None:
    named = {name for query in checked()["queries"] for name in grassroots_names(query["expr"])}
    for wanted in (
        "grassroots_events_consumed_total",  # throughput
        "grassroots_outbox_published_total",
        "grassroots_consumer_lag_records",  # lag
        "grassroots_consumer_lag_seconds",
        "grassroots_outbox_oldest_unsent_seconds",
        "grassroots_http_request_seconds_bucket",  # latency
        "grassroots_http_requests_total",
        "grassroots_dlq_records_total",  # dead letters
        "grassroots_notification_deliveries_total",  # deliveries
    ):
        assert wanted in named, wanted


def test_every_metric_a_panel_names_is_exported() -> None:
    named = {
        name
        for expression in [q["expr"] for q in checked()["queries"]] + variable_queries()
        for name in grassroots_names(expression)
    }
    assert named - exported_series() == set()


def test_every_query_is_promql(tmp_path: Path) -> None:
    """promtool parses each query as the expression of a recording rule."""
    queries = [q["expr"] for q in checked()["queries"]]
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": promql(query)}
                    for i, query in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = subprocess.run(
        [tool("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for query in variable_queries():  # label_values(metric, label): Grafana's, not PromQL
        assert re.fullmatch(r"label_values\((grassroots_[a-z_]+), ([a-z_]+)\)", query), query


def test_every_query_reads_the_provisioned_datasource() -> None:
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    uids = {source["uid"] for source in datasources["datasources"]}
    board = dashboard()
    panels = [
        panel
        for item in board["panels"]
        for panel in (item.get("panels", []) if item["type"] == "row" else [item])
    ]
    used = {panel["datasource"]["uid"] for panel in panels}
    used |= {target["datasource"]["uid"] for panel in panels for target in panel["targets"]}
    used |= {variable["datasource"]["uid"] for variable in board["templating"]["list"]}
    assert used == uids


def test_compose_provisions_the_dashboard() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    mounts = dict(
        volume.removesuffix(":ro").split(":", 1)
        for volume in compose["services"]["grafana"]["volumes"]
        if volume.startswith("./")
    )
    provider_dir = "./deploy/grafana/provisioning/dashboards"
    assert mounts[provider_dir] == "/etc/grafana/provisioning/dashboards"
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "grassroots.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
