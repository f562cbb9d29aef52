"""The rule for evolving the contract, enforced: the current schemas against the last release
kept in contract/released/, and the changes that must fail (or pass) that check."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from grassroots.contract import CONTRACT_VERSION, EVENTS
from grassroots.contract.compatibility import (
    COUNTY_TOPICS,
    TOPIC_DIRECTION,
    Contract,
    Direction,
    Problem,
    changes_entries,
    check,
    load_release,
    undeclared,
)
from grassroots.contract.topics import ALL_TOPICS

CONTRACT = Path(__file__).resolve().parents[1]
REPO = CONTRACT.parent
RELEASED = CONTRACT / "released"
DOCUMENT = (REPO / "docs" / "contract.md").read_text(encoding="utf-8")

NEW_ENTRY = """
### 2027-01-10 — version 2.0.0: {title}

{body}
"""


def schemas() -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((CONTRACT / "schemas").glob("*.json"))
    }


def current(
    changed: dict[str, dict[str, Any]] | None = None, version: str = CONTRACT_VERSION
) -> Contract:
    return Contract(
        version=version,
        schemas=changed if changed is not None else schemas(),
        topics={name: spec.topic for name, spec in EVENTS.items()},
    )


def problems_of(
    changed: dict[str, dict[str, Any]],
    *,
    version: str = CONTRACT_VERSION,
    document: str = DOCUMENT,
) -> list[Problem]:
    return check(load_release(RELEASED), current(changed, version), changes_entries(document))


def data_model(schema: dict[str, Any]) -> dict[str, Any]:
    """The `$defs` entry of the schema's `data`."""
    name = schema["properties"]["data"]["$ref"].removeprefix("#/$defs/")
    model: dict[str, Any] = schema["$defs"][name]
    return model


def with_change(event_type: str, change: Any) -> dict[str, dict[str, Any]]:
    changed = copy.deepcopy(schemas())
    change(changed[event_type])
    return changed


def remove_field(name: str) -> Any:
    def change(schema: dict[str, Any]) -> None:
        model = data_model(schema)
        del model["properties"][name]
        if name in model.get("required", []):
            model["required"].remove(name)

    return change


def add_field(name: str, field: dict[str, Any], *, required: bool) -> Any:
    def change(schema: dict[str, Any]) -> None:
        model = data_model(schema)
        model["properties"][name] = field
        if required:
            model["required"].append(name)

    return change


OPTIONAL_TEXT = {"anyOf": [{"type": "string", "maxLength": 500}, {"type": "null"}], "default": None}


# --- the contract as it is --------------------------------------------------------------------


def test_the_current_schemas_are_compatible_with_the_last_release() -> None:
    problems = check(load_release(RELEASED), current(), changes_entries(DOCUMENT))
    assert not undeclared(problems), "\n".join(map(str, undeclared(problems)))


def test_the_release_is_kept_with_its_version_topics_and_the_changes_declared_before_it() -> None:
    release = load_release(RELEASED)
    manifest = json.loads((RELEASED / "release.json").read_text(encoding="utf-8"))
    assert release.version == CONTRACT_VERSION
    assert set(release.schemas) == set(release.topics) == set(manifest["types"])
    for name, entry in manifest["types"].items():
        assert entry["topic"] == EVENTS[name].topic
        assert entry["direction"] == TOPIC_DIRECTION[entry["topic"]].value
    # The dated entries of 2026-11-29 were declared before the first release.
    assert release.changes == tuple(changes_entries(DOCUMENT))[: len(release.changes)]
    assert all(heading.startswith("2026-11-29") for heading in release.changes)
    assert (RELEASED / "README.md").is_file()


def test_every_topic_has_a_publisher_and_the_county_writes_exactly_the_input_topics() -> None:
    assert set(TOPIC_DIRECTION) == set(ALL_TOPICS)
    acls = (REPO / "deploy" / "kafka" / "acls.txt").read_text(encoding="utf-8").splitlines()
    county_writes = {line.split()[3] for line in acls if line.startswith("county WRITE TOPIC ")}
    assert county_writes == set(COUNTY_TOPICS)
    assert TOPIC_DIRECTION["supervision.decisions"] is Direction.DECISION


def test_the_changes_heading_is_read_entry_by_entry() -> None:
    entries = changes_entries(DOCUMENT)
    assert entries, "docs/contract.md has dated entries under ## Changes"
    assert all(heading[:4].isdigit() for heading in entries)  # only the dated entries


# --- what must fail -----------------------------------------------------------------------------


def test_a_field_removed_from_a_result_fails() -> None:
    problems = undeclared(problems_of(with_change("grading.branch_graded", remove_field("total"))))
    assert [(p.event_type, p.path) for p in problems] == [("grading.branch_graded", "data.total")]
    assert "no longer sent" in problems[0].reason
    assert "consumers of the release" in problems[0].reason


def test_an_optional_field_removed_from_a_result_fails_too() -> None:
    changed = with_change("grading.branch_graded", remove_field("supplementary"))
    problems = undeclared(problems_of(changed))
    assert [(p.event_type, p.path) for p in problems] == [
        ("grading.branch_graded", "data.supplementary")
    ]


def test_a_new_required_field_on_an_input_fails() -> None:
    changed = with_change(
        "grading.self_evaluated",
        add_field("evidence", {"type": "string", "minLength": 1}, required=True),
    )
    problems = undeclared(problems_of(changed))
    assert [(p.event_type, p.path) for p in problems] == [
        ("grading.self_evaluated", "data.evidence")
    ]
    assert "a new required field" in problems[0].reason


def test_a_field_removed_from_an_input_fails_as_the_platform_would_refuse_it() -> None:
    problems = undeclared(problems_of(with_change("grading.appraised", remove_field("raters"))))
    assert [(p.event_type, p.path) for p in problems] == [("grading.appraised", "data.raters")]
    assert "refuses it" in problems[0].reason


def test_a_new_required_field_on_a_result_fails_for_the_records_already_sent() -> None:
    changed = with_change(
        "grading.branch_graded", add_field("ranking", {"type": "integer"}, required=True)
    )
    problems = undeclared(problems_of(changed))
    assert [(p.path, "records sent before" in p.reason) for p in problems] == [
        ("data.ranking", True)
    ]


def test_a_new_value_of_a_result_enum_fails() -> None:
    def more_levels(schema: dict[str, Any]) -> None:
        schema["$defs"]["Level"]["enum"].append("excellent")

    problems = undeclared(problems_of(with_change("grading.branch_graded", more_levels)))
    # Every field of the type that holds a level.
    assert {p.path for p in problems} == {
        "data.level",
        "data.computed_level",
        "data.previous_level",
        "data.rules[].level",
    }
    assert all('value "excellent" is not accepted' in p.reason for p in problems)


def test_a_narrower_input_range_fails_and_a_wider_one_passes() -> None:
    def narrower(schema: dict[str, Any]) -> None:
        data_model(schema)["properties"]["raters"]["minimum"] = 5

    def wider(schema: dict[str, Any]) -> None:
        data_model(schema)["properties"]["raters"].pop("minimum")

    narrowed = undeclared(problems_of(with_change("grading.appraised", narrower)))
    assert [(p.path, "lower bound" in p.reason) for p in narrowed] == [("data.raters", True)]
    assert undeclared(problems_of(with_change("grading.appraised", wider))) == []


def test_a_removed_or_moved_type_fails() -> None:
    removed = schemas()
    del removed["grading.result_corrected"]
    assert [str(p) for p in undeclared(problems_of(removed))] == [
        "grading.result_corrected: the type was removed"
    ]
    moved = Contract(
        CONTRACT_VERSION,
        schemas(),
        {**{n: s.topic for n, s in EVENTS.items()}, "grading.appraised": "assessment.inputs"},
    )
    problems = check(load_release(RELEASED), moved, changes_entries(DOCUMENT))
    assert [str(p) for p in undeclared(problems)] == [
        "grading.appraised: moved from grading.inputs to assessment.inputs"
    ]


# --- what passes --------------------------------------------------------------------------------


def test_an_optional_field_added_to_a_result_passes() -> None:
    changed = with_change("grading.branch_graded", add_field("note", OPTIONAL_TEXT, required=False))
    assert problems_of(changed) == []


def test_an_optional_field_added_to_an_input_and_a_new_type_pass() -> None:
    changed = with_change(
        "grading.self_evaluated", add_field("note", OPTIONAL_TEXT, required=False)
    )
    changed["grading.self_evaluated.v2"] = copy.deepcopy(changed["grading.self_evaluated"])
    assert problems_of(changed) == []


def test_an_incompatible_change_passes_when_declared_with_a_new_major_version() -> None:
    changed = with_change("grading.branch_graded", remove_field("total"))
    entry = NEW_ENTRY.format(
        title="`grading.branch_graded` without `total`",
        body="`grading.branch_graded` no longer carries `total`: add the five scores.",
    )
    document = DOCUMENT + entry
    declared = problems_of(changed, version="2.0.0", document=document)
    assert [p.declared for p in declared] == [True]
    assert undeclared(declared) == []


@pytest.mark.parametrize(
    ("version", "entry"),
    [
        # Declared, but the version was not raised.
        (CONTRACT_VERSION, "`grading.branch_graded` no longer carries `total` (2.0.0)."),
        # A new version, but the entry names another type.
        ("2.0.0", "`grading.branch_incomplete` changes in 2.0.0."),
        # A new version and the type, but the entry does not name the version.
        ("2.0.0", "`grading.branch_graded` no longer carries `total`."),
        # Only a minor version: a breaking change needs a new major one.
        ("1.1.0", "`grading.branch_graded` no longer carries `total` (1.1.0)."),
    ],
)
def test_an_incompatible_change_still_fails_when_not_declared_as_the_rule_says(
    version: str, entry: str
) -> None:
    changed = with_change("grading.branch_graded", remove_field("total"))
    document = DOCUMENT + "\n### 2027-01-10 — a change\n\n" + entry + "\n"
    assert len(undeclared(problems_of(changed, version=version, document=document))) == 1


def test_an_entry_already_in_the_release_declares_nothing_new() -> None:
    changed = with_change("grading.self_evaluated", remove_field("scores"))
    problems = problems_of(changed, version="2.0.0")  # the document as released
    assert problems and not any(p.declared for p in problems)
