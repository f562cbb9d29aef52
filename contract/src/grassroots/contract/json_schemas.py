"""The machine-readable contract as shipped: one JSON Schema (draft 2020-12) per event type and
the AsyncAPI 3.0 document. They are generated from the models (`grassroots contract write`, in
the platform's repository) and checked in beside the package (contract/schemas/,
contract/asyncapi.json); the wheel carries them inside the package, as
grassroots/contract/schemas/<type>.json and grassroots/contract/asyncapi.json."""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from grassroots.contract.registry import EVENTS


def folder() -> Traversable:
    """Where the files are: inside the installed package, or — in a checkout of the repository
    (an editable install) — in contract/, next to src/."""
    packaged = resources.files(__package__ or "grassroots.contract")
    if packaged.joinpath("schemas").is_dir():
        return packaged
    return Path(__file__).resolve().parents[3]


def json_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of one event type (the whole envelope, its data included)."""
    if event_type not in EVENTS:
        raise KeyError(f"unknown event type {event_type!r}")
    document: dict[str, Any] = json.loads(
        folder().joinpath("schemas", f"{event_type}.json").read_text(encoding="utf-8")
    )
    return document


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic."""
    document: dict[str, Any] = json.loads(
        folder().joinpath("asyncapi.json").read_text(encoding="utf-8")
    )
    return document
