"""Each service's wiring, checked without running it: the topics it consumes are written once
(its ServiceDefinition) and the Kafka ACLs, the chaos checker and the README agree with them;
every handler is typed by the event it takes, with no `Any`."""

from __future__ import annotations

import importlib
import re
import typing
from typing import Any

import pytest

from grassroots.contract import ALL_TOPICS, INPUT_TOPICS, dlq_topic
from grassroots.plumbing.service import ServiceDefinition
from tests.chaos import CONSUMES
from tests.harness import CONSUMERS, REPO


def definition(service: str) -> ServiceDefinition[Any]:
    found: ServiceDefinition[Any] = importlib.import_module(f"{service}.app").DEFINITION
    return found


def acl_topics(user: str) -> dict[str, set[str]]:
    """{operation: topics} granted to `user` in deploy/kafka/acls.txt."""
    granted: dict[str, set[str]] = {}
    for line in (REPO / "deploy" / "kafka" / "acls.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == user and parts[2] == "TOPIC":
            granted.setdefault(parts[1], set()).add(parts[3])
    return granted


@pytest.mark.parametrize("service", CONSUMERS)
def test_acls_let_a_service_read_what_it_consumes_and_dead_letter_it(service: str) -> None:
    consumed = set(definition(service).topics)
    granted = acl_topics(service)
    assert consumed <= granted["READ"]
    assert {dlq_topic(t) for t in consumed} <= granted["WRITE"]
    # Anything else it reads is a topic it writes (the relay reads its own partitions' tails).
    assert granted["READ"] - consumed - {dlq_topic(t) for t in consumed} <= granted["WRITE"]


def test_the_intake_may_write_the_input_topics_and_nothing_else() -> None:
    assert definition("intake").topics == ()
    assert acl_topics("intake") == {"WRITE": set(INPUT_TOPICS)}


@pytest.mark.parametrize("service", CONSUMERS)
def test_the_chaos_checker_expects_what_each_service_consumes(service: str) -> None:
    assert CONSUMES[service] == set(definition(service).topics)


def test_the_readme_table_names_what_each_service_consumes() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for service in CONSUMERS:
        row = re.search(rf"^\| `services/{service}` \| ([^|]+) \|", readme, re.MULTILINE)
        assert row, f"README has no row for services/{service}"
        named = {t.strip() for t in row.group(1).split(",")}
        expected = set(definition(service).topics)
        assert named == expected or (named == {"every topic"} and expected == set(ALL_TOPICS))


def _mentions_any(annotation: Any) -> bool:
    if annotation is Any:
        return True
    return any(_mentions_any(arg) for arg in typing.get_args(annotation))


@pytest.mark.parametrize("service", CONSUMERS)
def test_every_handler_is_typed_by_its_event_without_any(service: str) -> None:
    for registration in definition(service).handlers:
        handler = registration.many or registration.one
        hints = typing.get_type_hints(handler)
        assert not any(_mentions_any(hint) for hint in hints.values()), (
            f"{service}: {handler.__qualname__} has Any in its signature: {hints}"
        )
        event_hint = list(hints.values())[1]
        takes = typing.get_args(event_hint) or (event_hint,)  # Sequence[X] / X / X | Y
        flat = {t for arg in takes for t in (typing.get_args(arg) or (arg,))}
        assert registration.event_class in flat, (
            f"{service}: {handler.__qualname__} is registered for "
            f"{registration.event_type} but takes {event_hint}"
        )
