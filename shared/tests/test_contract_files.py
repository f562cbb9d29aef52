"""The checked-in machine-readable contract (contract/schemas/, contract/asyncapi.json) is exactly
what the code generates."""

from __future__ import annotations

from pathlib import Path

from grassroots import contract_documents as documents
from grassroots.contract import CONTRACT_VERSION, EVENTS, json_schemas

CONTRACT = Path(__file__).resolve().parents[2] / "contract"


def test_checked_in_schemas_and_asyncapi_match_the_code() -> None:
    expected = documents.expected_files()
    actual = {
        path.relative_to(CONTRACT).as_posix(): path.read_text(encoding="utf-8")
        for path in CONTRACT.rglob("*.json")
    }
    drifted = sorted(
        name for name in expected.keys() | actual.keys() if expected.get(name) != actual.get(name)
    )
    assert not drifted, f"contract files drifted, run `make contract`: {drifted}"


def test_there_is_one_schema_per_event_type() -> None:
    assert {p.stem for p in (CONTRACT / "schemas").glob("*.json")} == set(EVENTS)


def test_asyncapi_names_every_topic() -> None:
    document = documents.asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    assert set(document["channels"]) == {spec.topic for spec in EVENTS.values()}


def test_the_generator_writes_beside_the_contract_package() -> None:
    assert documents.CONTRACT_FOLDER == CONTRACT
    assert (CONTRACT / "pyproject.toml").is_file()


def test_the_contract_package_reads_the_checked_in_files() -> None:
    # In the workspace (an editable install) the package finds them in contract/.
    for event_type in EVENTS:
        assert (
            json_schemas.json_schema(event_type) == documents.json_schemas()[f"{event_type}.json"]
        )
    assert json_schemas.asyncapi()["info"]["version"] == CONTRACT_VERSION
