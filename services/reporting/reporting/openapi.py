"""The reporting API's OpenAPI document, generated from the code and checked in.

uv run python -m reporting.openapi    # rewrites services/reporting/openapi.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.openapi.utils import get_openapi

from reporting.app import DEFINITION

CHECKED_IN = Path(__file__).parent.parent / "openapi.json"


def document() -> dict[str, Any]:
    return get_openapi(
        title="Grassroots reporting API",
        version="1.0.0",
        description="Reports of a Grassroots Organization Building Year (基层组织建设年). "
        "Every call needs `Authorization: Bearer <token>`: a county token reads its county, "
        "a branch token reads only that branch's card and the county's announced lists (公示). "
        "An office token (a county token of one person of the Party office, `token create "
        "--role office`) may also request, edit, sign off and discard circulars (通报), in that "
        "person's name; a reader's write is 403, and 409 answers a decision about a circular "
        "that is no longer a draft. "
        "401: no, unknown or revoked token; 403: out of the token's scope; 404: unknown "
        "campaign or branch, or a round's results not published yet (code "
        "results_not_published); 422: bad parameters.",
        routes=[route for router in DEFINITION.routers for route in router.routes],
    )


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    CHECKED_IN.write_text(render(), encoding="utf-8")
    print(f"wrote {CHECKED_IN}")
