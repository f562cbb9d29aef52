"""The Strimzi `KafkaTopic` and `KafkaUser` resources of deploy/k8s, generated so they cannot
drift from what the platform runs on locally: one topic per topic of the contract's registry
(grassroots.contract.ALL_TOPICS) and one per dead-letter topic; one SCRAM-SHA-512 user per user
of deploy/kafka/acls.txt, with exactly that file's ACLs.

    python -m grassroots.manifests write [--partitions N] [--replicas N] [--min-insync-replicas N]
    python -m grassroots.manifests check    # exit 1 when the checked-in files differ

The sizing is written into the files' header and `write` without options keeps it, so `check`
compares like with like. Environments that differ (one broker on a laptop) patch the topics in
their Kustomize overlay (deploy/k8s/overlays/local) rather than regenerate.

Needs PyYAML (a development dependency): this is a development tool, not part of a service.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from grassroots.contract import ALL_TOPICS, dlq_topic
from grassroots.plumbing.kafka import MAX_REQUEST_BYTES

REPO = Path(__file__).resolve().parents[3]
ACL_FILE = REPO / "deploy" / "kafka" / "acls.txt"
OUTPUT = REPO / "deploy" / "k8s" / "base" / "kafka"
TOPICS_FILE = OUTPUT / "topics.yaml"
USERS_FILE = OUTPUT / "users.yaml"
# The Strimzi `Kafka` resource the topics and users belong to (deploy/k8s/cluster/kafka.yaml).
CLUSTER = "grassroots"
STRIMZI_API = "kafka.strimzi.io/v1"

# acls.txt operation names (Kafka's AclOperation) -> Strimzi's.
OPERATIONS = {
    "ALL": "All",
    "READ": "Read",
    "WRITE": "Write",
    "CREATE": "Create",
    "DELETE": "Delete",
    "ALTER": "Alter",
    "DESCRIBE": "Describe",
    "CLUSTER_ACTION": "ClusterAction",
    "DESCRIBE_CONFIGS": "DescribeConfigs",
    "ALTER_CONFIGS": "AlterConfigs",
    "IDEMPOTENT_WRITE": "IdempotentWrite",
}
RESOURCE_TYPES = {"TOPIC": "topic", "GROUP": "group", "CLUSTER": "cluster"}


@dataclass(frozen=True)
class Sizing:
    partitions: int = 12
    replicas: int = 3
    min_insync_replicas: int = 2

    def __post_init__(self) -> None:
        if min(self.partitions, self.replicas, self.min_insync_replicas) < 1:
            raise ValueError("partitions, replicas and min.insync.replicas must be at least 1")
        if self.min_insync_replicas > self.replicas:
            raise ValueError("min.insync.replicas cannot exceed the replicas")

    def header(self) -> str:
        return (
            f"# sizing: partitions={self.partitions} replicas={self.replicas} "
            f"min.insync.replicas={self.min_insync_replicas}\n"
        )


_SIZING = re.compile(
    r"^# sizing: partitions=(\d+) replicas=(\d+) min\.insync\.replicas=(\d+)$", re.M
)


def recorded_sizing(path: Path | None = None) -> Sizing | None:
    """The sizing the checked-in topics were written with, if there are any."""
    path = path or TOPICS_FILE
    if not path.exists():
        return None
    found = _SIZING.search(path.read_text(encoding="utf-8"))
    return Sizing(*(int(n) for n in found.groups())) if found else None


@dataclass(frozen=True)
class Acl:
    user: str
    operation: str
    resource_type: str
    name: str
    prefixed: bool


def read_acls(path: Path | None = None) -> list[Acl]:
    """The lines of acls.txt: `<user> <OPERATION> <TOPIC|GROUP|CLUSTER> <name> [PREFIXED]`."""
    path = path or ACL_FILE
    acls = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) not in (4, 5) or (len(fields) == 5 and fields[4] != "PREFIXED"):
            raise ValueError(f"{path.name}:{number}: expected <user> <OP> <TYPE> <name> [PREFIXED]")
        user, operation, resource_type, name = fields[:4]
        if operation not in OPERATIONS or resource_type not in RESOURCE_TYPES:
            raise ValueError(f"{path.name}:{number}: unknown operation or resource type")
        acls.append(Acl(user, operation, resource_type, name, len(fields) == 5))
    return acls


def resource_name(topic: str) -> str:
    # Kubernetes names: lower case, digits, '-' (Strimzi keeps the real name in spec.topicName).
    return re.sub(r"[^a-z0-9-]", "-", topic.lower())


def topic_names() -> list[str]:
    return [name for topic in ALL_TOPICS for name in (topic, dlq_topic(topic))]


def kafka_topics(sizing: Sizing) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": STRIMZI_API,
            "kind": "KafkaTopic",
            "metadata": {"name": resource_name(topic), "labels": {"strimzi.io/cluster": CLUSTER}},
            "spec": {
                "topicName": topic,
                "partitions": sizing.partitions,
                "replicas": sizing.replicas,
                "config": {
                    # As the services create them (grassroots.plumbing.kafka.ensure_topics).
                    "max.message.bytes": str(MAX_REQUEST_BYTES),
                    "min.insync.replicas": str(sizing.min_insync_replicas),
                },
            },
        }
        for topic in topic_names()
    ]


def kafka_users(acls: Iterable[Acl]) -> list[dict[str, Any]]:
    """One user per user of the ACL file; each resource's operations in one rule, in the
    file's order."""
    rules: dict[str, dict[tuple[str, str, bool], list[str]]] = {}
    for acl in acls:
        operations = rules.setdefault(acl.user, {}).setdefault(
            (acl.resource_type, acl.name, acl.prefixed), []
        )
        if OPERATIONS[acl.operation] not in operations:
            operations.append(OPERATIONS[acl.operation])
    users = []
    for user, resources in rules.items():
        acl_rules = []
        for (resource_type, name, prefixed), operations in resources.items():
            resource: dict[str, Any] = {"type": RESOURCE_TYPES[resource_type]}
            if resource_type != "CLUSTER":
                resource |= {"name": name, "patternType": "prefix" if prefixed else "literal"}
            acl_rules.append({"type": "allow", "resource": resource, "operations": operations})
        users.append(
            {
                "apiVersion": STRIMZI_API,
                "kind": "KafkaUser",
                # The user (and so the ACL principal User:<name>) is the resource's name; the
                # User Operator writes its password into the Secret of the same name.
                "metadata": {"name": user, "labels": {"strimzi.io/cluster": CLUSTER}},
                "spec": {
                    "authentication": {"type": "scram-sha-512"},
                    "authorization": {"type": "simple", "acls": acl_rules},
                },
            }
        )
    return users


_NOTICE = (
    "# Generated by `python -m grassroots.manifests write` from {source}: do not edit.\n"
    "# `python -m grassroots.manifests check` (tests/test_manifests.py) fails when it drifts.\n"
)


def _dump(documents: Sequence[dict[str, Any]], header: str) -> str:
    body = yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True, width=100)
    return header + body


def render(sizing: Sizing, acl_file: Path | None = None) -> dict[Path, str]:
    """The generated files and their content."""
    registry = "the contract's topic registry (grassroots.contract.ALL_TOPICS and their .dlq)"
    return {
        TOPICS_FILE: _dump(kafka_topics(sizing), _NOTICE.format(source=registry) + sizing.header()),
        USERS_FILE: _dump(
            kafka_users(read_acls(acl_file)), _NOTICE.format(source="deploy/kafka/acls.txt")
        ),
    }


def drift(sizing: Sizing | None = None) -> list[str]:
    """The generated files that are missing or differ from what the registry and ACLs give."""
    expected = render(sizing or recorded_sizing() or Sizing())
    return [
        str(path.relative_to(REPO))
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grassroots.manifests", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write the KafkaTopic and KafkaUser resources")
    write.add_argument("--partitions", type=int, help="partitions per topic (default: as now)")
    write.add_argument("--replicas", type=int, help="replicas per topic (default: as now)")
    write.add_argument("--min-insync-replicas", type=int, help="(default: as now)")
    commands.add_parser("check", help="exit 1 if the checked-in resources have drifted")
    args = parser.parse_args(argv)
    if args.command == "check":
        stale = drift()
        if stale:
            print(
                f"out of date: {', '.join(stale)}; run `python -m grassroots.manifests write`",
                file=sys.stderr,
            )
            return 1
        print("deploy/k8s: KafkaTopic and KafkaUser resources match the registry and acls.txt")
        return 0
    current = recorded_sizing() or Sizing()
    sizing = Sizing(
        args.partitions or current.partitions,
        args.replicas or current.replicas,
        args.min_insync_replicas or current.min_insync_replicas,
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for path, text in render(sizing).items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
