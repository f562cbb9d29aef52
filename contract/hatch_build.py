"""Build hook: the wheel carries the generated contract documents inside the package, as
grassroots/contract/schemas/<type>.json and grassroots/contract/asyncapi.json, so that an
installed grassroots-contract has them (grassroots.contract.json_schemas reads them).

Only the standard wheel: an editable install (the workspace, the services' images) reads them
from contract/ itself, and a static `force-include` would leave stale copies in site-packages.
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ContractDocuments(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version != "standard":
            return
        build_data["force_include"]["schemas"] = "grassroots/contract/schemas"
        build_data["force_include"]["asyncapi.json"] = "grassroots/contract/asyncapi.json"
