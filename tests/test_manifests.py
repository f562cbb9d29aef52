"""The Kubernetes manifests (deploy/k8s), offline: both overlays render with kustomize and every
resource validates with kubeconform against Kubernetes' JSON schemas and those of the Strimzi,
CloudNativePG and Prometheus Operator resources (`make k8s-tools`, tools/k8s/install.sh); a
broken manifest fails; the generated Strimzi topics and users equal the contract's registry and
deploy/kafka/acls.txt; every service has its probes, resources, disruption budget and Secrets
referenced, not written."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from grassroots import manifests
from grassroots.contract import ALL_TOPICS, dlq_topic
from grassroots.plumbing.settings import ServiceSettings
from tests.harness import REPO, SERVICES, TEST_PORTS

K8S = REPO / "deploy" / "k8s"
TOOLS = REPO / "tools" / "k8s"
OVERLAYS = ("local", "production")
SCHEMA_LOCATIONS = (
    f"{TOOLS}/schemas/kubernetes/{{{{.ResourceKind}}}}{{{{.KindSuffix}}}}.json",
    f"{TOOLS}/schemas/crds/{{{{.Group}}}}-{{{{.ResourceKind}}}}-{{{{.ResourceAPIVersion}}}}.json",
)
# The HTTP port of each service as `make up` runs it (the tests' ports are these moved).
PORTS = {name: 8080 + port - TEST_PORTS["reporting"] for name, port in TEST_PORTS.items()}
# The notification service's delivery worker: a Deployment of its own (`--role deliver`).
WORKLOADS = {**{name: name for name in SERVICES}, "notification-deliver": "notification"}
PORTS["notification-deliver"] = 8085
SECRET_LIKE = re.compile(r"PASSWORD|SECRET|PEPPER|CREDENTIAL|TOKEN")


def tool(name: str) -> Path:
    path = TOOLS / "bin" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make k8s-tools`")
    return path


@cache
def rendered(overlay: str) -> str:
    result = subprocess.run(
        [tool("kustomize"), "build", K8S / "overlays" / overlay],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def resources(overlay: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered(overlay)) if doc]


def kubeconform(text: str) -> list[dict[str, Any]]:
    """kubeconform's result for each resource of `text` (strict: unknown fields are errors;
    a resource without a schema is an error too, not skipped)."""
    locations = [arg for location in SCHEMA_LOCATIONS for arg in ("-schema-location", location)]
    result = subprocess.run(
        [tool("kubeconform"), "-strict", "-verbose", "-output", "json", *locations, "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr == "", result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)["resources"]
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_resource_validates(overlay: str) -> None:
    results = kubeconform(rendered(overlay))
    bad = [f"{r['kind']}/{r['name']}: {r['status']} {r.get('msg', '')}" for r in results]
    bad = [line for line, r in zip(bad, results, strict=True) if r["status"] != "statusValid"]
    assert not bad, "\n".join(bad)
    kinds = Counter(r["kind"] for r in results)
    assert len(results) == len(resources(overlay))
    assert kinds["Deployment"] == kinds["PodDisruptionBudget"] == kinds["Service"] == len(WORKLOADS)
    assert kinds["KafkaTopic"] == 2 * len(ALL_TOPICS)
    assert {
        "Kafka",
        "KafkaNodePool",
        "KafkaUser",
        "Cluster",
        "ServiceMonitor",
        "NetworkPolicy",
    } <= set(kinds)
    assert {"Job", "ConfigMap", "Namespace"} <= set(kinds)


def _named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def test_a_broken_manifest_fails() -> None:
    """One mistake in each of six resources, of each schema source: exactly those six fail."""
    docs = resources("production")
    container = _named(docs, "Deployment", "grading")["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    acls = _named(docs, "KafkaUser", "reporting")["spec"]["authorization"]["acls"]
    acls[0]["operations"] = ["Reed"]
    _named(docs, "KafkaTopic", "grading-results")["spec"]["partitions"] = "twelve"
    del _named(docs, "Kafka", "grassroots")["spec"]["kafka"]["listeners"][0]["port"]
    _named(docs, "Cluster", "grassroots-db")["spec"]["instances"] = "three"
    monitor = _named(docs, "ServiceMonitor", "grassroots")["spec"]
    monitor["endpoint"] = monitor.pop("endpoints")
    results = kubeconform(yaml.safe_dump_all(docs))
    invalid = {(r["kind"], r["name"]) for r in results if r["status"] != "statusValid"}
    assert invalid == {
        ("Deployment", "grading"),
        ("KafkaUser", "reporting"),
        ("KafkaTopic", "grading-results"),
        ("Kafka", "grassroots"),
        ("Cluster", "grassroots-db"),
        ("ServiceMonitor", "grassroots"),
    }


def test_generated_kafka_resources_have_not_drifted() -> None:
    assert manifests.drift() == [], "run `make manifests` (python -m grassroots.manifests write)"


def test_generated_topics_are_the_registry() -> None:
    sizing = manifests.recorded_sizing()
    assert sizing is not None
    topics = list(yaml.safe_load_all(manifests.TOPICS_FILE.read_text(encoding="utf-8")))
    names = [doc["spec"]["topicName"] for doc in topics]
    assert sorted(names) == sorted([*ALL_TOPICS, *(dlq_topic(t) for t in ALL_TOPICS)])
    for doc in topics:
        assert doc["metadata"]["labels"] == {"strimzi.io/cluster": "grassroots"}
        assert doc["spec"]["partitions"] == sizing.partitions
        assert doc["spec"]["replicas"] == sizing.replicas
        assert doc["spec"]["config"]["min.insync.replicas"] == str(sizing.min_insync_replicas)


def acl_file_entries() -> set[tuple[str, str, str, str, bool]]:
    """deploy/kafka/acls.txt as (user, operation, resource type, name, prefixed), read here
    apart from the generator."""
    entries = set()
    for line in (REPO / "deploy" / "kafka" / "acls.txt").read_text(encoding="utf-8").splitlines():
        fields = line.split("#")[0].split()
        if fields:
            entries.add((fields[0], fields[1], fields[2], fields[3], fields[4:] == ["PREFIXED"]))
    return entries


def test_generated_users_grant_exactly_the_acl_file() -> None:
    users = list(yaml.safe_load_all(manifests.USERS_FILE.read_text(encoding="utf-8")))
    granted = set()
    for user in users:
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        for acl in user["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            assert acl["type"] == "allow"
            for operation in acl["operations"]:
                granted.add(
                    (
                        user["metadata"]["name"],
                        re.sub(r"(?<!^)([A-Z])", r"_\1", operation).upper(),
                        resource["type"].upper(),
                        resource.get("name", "kafka-cluster"),
                        resource.get("patternType") == "prefix",
                    )
                )
    assert granted == acl_file_entries()


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def _settings_env_names(name: str) -> set[str]:
    """The environment variables the service's settings classes read."""
    classes: list[type[BaseSettings]] = [ServiceSettings]
    config = REPO / "services" / name / name / "config.py"
    if config.is_file():
        namespace: dict[str, Any] = {}
        module = __import__(f"{name}.config", fromlist=["*"])
        namespace.update(vars(module))
        classes += [
            obj
            for obj in namespace.values()
            if isinstance(obj, type) and issubclass(obj, BaseSettings) and obj is not BaseSettings
        ]
    known = set()
    for cls in classes:
        prefix = str(cls.model_config.get("env_prefix") or "")
        for field_name, field in cls.model_fields.items():
            alias = field.validation_alias or field.alias
            if isinstance(alias, AliasChoices):
                known |= {str(choice).upper() for choice in alias.choices}
            elif isinstance(alias, str):
                known.add(alias.upper())
            else:
                known.add(f"{prefix}{field_name}".upper())
    return known


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_are_deployed_as_an_orchestrator_needs(overlay: str) -> None:
    docs = resources(overlay)
    assert not [d for d in docs if d["kind"] == "Secret"], "Secrets are referenced, never written"
    config = next(
        d for d in docs if d["kind"] == "ConfigMap" and "GRASSROOTS_HTTP_HOST" in d["data"]
    )
    budgets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "PodDisruptionBudget"}
    users = {d["metadata"]["name"] for d in docs if d["kind"] == "KafkaUser"}
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == set(WORKLOADS)
    for workload, deployment in deployments.items():
        name = WORKLOADS[workload]  # the service: its users, schema and settings
        container = _container(deployment)
        env = _env(container)
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert {"requests", "limits"} <= set(container["resources"])
        assert container["ports"][0]["containerPort"] == PORTS[workload]
        assert env["GRASSROOTS_HTTP_PORT"]["value"] == str(PORTS[workload])
        assert budgets[workload]["spec"]["maxUnavailable"] == 1
        for variable, item in env.items():
            if SECRET_LIKE.search(variable):
                assert "value" not in item, f"{name}: {variable} is written, not referenced"
        # Its Kafka user is a generated KafkaUser, whose Secret the User Operator writes.
        assert env["GRASSROOTS_KAFKA_USERNAME"]["value"] == name and name in users
        assert env["GRASSROOTS_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == name
        # Its own database role.
        assert env["GRASSROOTS_DATABASE_URL"]["value"].startswith(
            f"postgresql://{name}:$(DB_PASSWORD)@"
        )
        unknown = {v for v in env if v.startswith("GRASSROOTS_")} - _settings_env_names(name)
        assert not unknown, f"{name}: {sorted(unknown)} are read by no settings class"
    # What all of them get is read by one of them at least.
    known = set().union(*(_settings_env_names(name) for name in SERVICES))
    assert set(config["data"]) <= known, sorted(set(config["data"]) - known)


def test_check_fails_when_the_registry_or_acls_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("topics.yaml", "users.yaml"):
        (tmp_path / name).write_text((manifests.OUTPUT / name).read_text(encoding="utf-8"))
    monkeypatch.setattr(manifests, "REPO", tmp_path)
    monkeypatch.setattr(manifests, "TOPICS_FILE", tmp_path / "topics.yaml")
    monkeypatch.setattr(manifests, "USERS_FILE", tmp_path / "users.yaml")
    assert manifests.main(["check"]) == 0
    acls = tmp_path / "acls.txt"
    acls.write_text(manifests.ACL_FILE.read_text(encoding="utf-8") + "grading READ TOPIC x\n")
    monkeypatch.setattr(manifests, "ACL_FILE", acls)
    assert manifests.main(["check"]) == 1
    monkeypatch.setattr(manifests, "ALL_TOPICS", (*ALL_TOPICS, "extra.topic"))
    assert manifests.drift() == ["topics.yaml", "users.yaml"]
    assert "users.yaml" in capsys.readouterr().err


def test_db_roles_job_makes_every_services_role_and_schema() -> None:
    sql = (K8S / "base" / "db-roles.sql").read_text(encoding="utf-8")
    job = _named(resources("production"), "Job", "grassroots-db-roles")
    env = _env(_container(job))
    for name in SERVICES:
        variable = f"{name.upper()}_DB_PASSWORD"
        assert f"\\getenv pw_{name} {variable}\n" in sql
        assert f"PASSWORD :'pw_{name}';" in sql
        assert f"CREATE SCHEMA IF NOT EXISTS {name} AUTHORIZATION {name};" in sql
        assert env[variable]["valueFrom"]["secretKeyRef"] == {
            "name": f"grassroots-{name}",
            "key": "db-password",
        }


def test_compose_warns_that_its_kafka_is_open() -> None:
    """Docker Compose runs Kafka without SASL or ACLs: the broker says so at every start."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    kafka = compose["services"]["kafka"]
    protocols = kafka["environment"]["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    if "SASL" not in protocols:
        script = kafka["command"][-1]
        assert "WARNING: Grassroots on Docker Compose is a DEVELOPMENT STACK" in script
        assert script.rstrip().endswith("exec /etc/kafka/docker/run")  # the image's own CMD
