"""The alert rules in a real Prometheus scraping the running services.

Prometheus (Debian's, unpacked by `make prometheus`) runs with the shipped prometheus.yml and
rules.yml, changed only where a test must be quick: targets on the test ports, scrape and
evaluation every second, and every rule's `for` at 0s (rules_test.yml tests the durations).
Poison records on a county topic fire the dead-letter alert; a stopped service fires the
target-down alert, and is started again.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.harness import TEST_PORTS, Platform, eventually, produce_raw
from tests.test_alerts_rules import PROMETHEUS_DIR, tool
from tests.test_grafana_dashboard import checked, promql

STOPPED = "rectification"  # the service the test stops and starts again


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def quick_config(directory: Path, services: Iterable[str]) -> Path:
    """prometheus.yml and rules.yml for the test platform, evaluated every second."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] = {
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "evaluation_interval": "1s",
    }
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            static["targets"] = [
                f"127.0.0.1:{TEST_PORTS[target.rpartition(':')[0]]}" for target in static["targets"]
            ]
    # A service of the test platform the shipped file does not scrape yet, scraped alike.
    scraped = {job["job_name"] for job in config["scrape_configs"]}
    config["scrape_configs"] += [
        {
            "job_name": name,
            "static_configs": [
                {"targets": [f"127.0.0.1:{TEST_PORTS[name]}"], "labels": {"service": name}}
            ],
        }
        for name in services
        if name not in scraped
    ]
    rules = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "0s"
    (directory / "rules.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    assert config["rule_files"] == ["rules.yml"]
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def prometheus(platform: Platform, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            tool("prometheus"),
            f"--config.file={quick_config(tmp_path, platform.services)}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=log,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture
async def api(prometheus: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=prometheus, timeout=5) as client:

        async def ready() -> bool:
            try:
                return (await client.get("/-/ready")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, within=20)
        yield client


async def query(api: httpx.AsyncClient, promql: str) -> list[dict[str, Any]]:
    answer = await api.get("/api/v1/query", params={"query": promql})
    answer.raise_for_status()
    result: list[dict[str, Any]] = answer.json()["data"]["result"]
    return result


async def firing(api: httpx.AsyncClient, alert: str, **labels: str) -> list[dict[str, Any]]:
    answer = await api.get("/api/v1/alerts")
    answer.raise_for_status()
    return [
        found
        for found in answer.json()["data"]["alerts"]
        if found["state"] == "firing"
        and found["labels"]["alertname"] == alert
        and all(found["labels"].get(name) == value for name, value in labels.items())
    ]


async def test_poison_records_and_a_stopped_service_fire_their_alerts(
    platform: Platform, api: httpx.AsyncClient
) -> None:
    async def every_service_up() -> bool:
        up = await query(api, "up")
        return len(up) == len(platform.services) and all(s["value"][1] == "1" for s in up)

    await eventually(every_service_up, within=20)

    # The dead-letter counter was scraped at 0 before the poison: its step is an increase.
    dlq = 'grassroots_dlq_records_total{service="grading",topic="grading.inputs",reason="invalid_json"}'
    await eventually(lambda: query(api, f"count_over_time({dlq}[1m]) >= 2"), within=20)
    assert await firing(api, "GrassrootsDeadLetters", service="grading") == []
    await produce_raw("grading.inputs", [(b"poison", b"{not json")])
    alerts = await eventually(
        lambda: firing(api, "GrassrootsDeadLetters", service="grading", topic="grading.inputs"),
        within=30,
    )
    assert alerts[0]["labels"]["reason"] == "invalid_json"
    assert alerts[0]["labels"]["severity"] == "warning"

    service = platform.services[STOPPED]
    service.stop()
    try:
        alerts = await eventually(
            lambda: firing(api, "GrassrootsTargetDown", job=STOPPED), within=30
        )
        assert alerts[0]["annotations"]["summary"].startswith(f"{STOPPED} is down")
        assert await firing(api, "GrassrootsTargetDown", job="reporting") == []
    finally:
        service.start()
        service.wait_healthy()
    await eventually(lambda: query(api, f'up{{job="{STOPPED}"}} == 1'), within=20)


async def test_every_dashboard_query_runs_on_the_scraped_services(api: httpx.AsyncClient) -> None:
    """Each panel's query, Grafana's variables filled in, is answered without an error (query
    raises on one); the panels of what every service exports from its start show data."""
    await eventually(lambda: query(api, "grassroots_consumer_lag_records"), within=20)
    showing: set[str] = set()
    for panel in checked()["queries"]:
        if await query(api, promql(panel["expr"])):
            showing.add(panel["panel"])
    assert {"Up", "Consumer lag (records)", "Outbox"} <= showing
