"""`/docs` and `/redoc` without the internet (issue 17).

FastAPI's own pages load Swagger UI and ReDoc from a CDN, which a county office's network may not
reach. Rather than ship those bundles (megabytes of JavaScript, a dependency to keep current), the
service renders the API reference itself from its OpenAPI document: every operation with its
parameters and answers, and links to `/openapi.json` (the same document as the checked-in
services/reporting/openapi.json) for tools. No script, no stylesheet or font from elsewhere."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, select_autoescape

METHODS = ("get", "post", "put", "patch", "delete")

PAGE = Environment(autoescape=select_autoescape(default_for_string=True)).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ info.title }} — reference</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1rem auto; max-width: 60rem; padding: 0 1rem;
       line-height: 1.45; color: #222; }
code, pre { font-family: ui-monospace, monospace; }
.op { border: 1px solid #ccc; border-radius: 4px; margin: .6rem 0; padding: .4rem .8rem; }
.op summary { cursor: pointer; overflow-wrap: anywhere; }
.method { display: inline-block; min-width: 4.5em; font-weight: bold; text-transform: uppercase; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: .2rem .5rem;
       text-align: left; vertical-align: top; }
.scroll { overflow-x: auto; }
</style></head>
<body>
<h1>{{ info.title }} <small>{{ info.version }}</small></h1>
<p>{{ info.description }}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (also checked in as
<code>services/reporting/openapi.json</code>; open it in any OpenAPI tool).</p>
{% for tag, ops in groups %}
<h2>{{ tag }}</h2>
{% for op in ops %}
<details class="op" id="{{ op.id }}"><summary><span class="method">{{ op.method }}</span>
<code>{{ op.path }}</code> — {{ op.summary }}</summary>
{% if op.description %}<p>{{ op.description }}</p>{% endif %}
{% if op.parameters %}<div class="scroll"><table><tr><th>Parameter</th><th>In</th>
<th>Required</th><th>Description</th></tr>
{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code></td><td>{{ p.get("in") }}</td>
<td>{{ "yes" if p.required else "no" }}</td><td>{{ p.description or "" }}</td></tr>{% endfor %}
</table></div>{% endif %}
<p>Answers: {% for status, answer in op.responses %}<code>{{ status }}</code>
{{ answer.get("description", "") }}{% if not loop.last %}; {% endif %}{% endfor %}</p>
</details>
{% endfor %}{% endfor %}
</body></html>
"""
)


def _groups(document: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["API"])[0]
            groups.setdefault(tag, []).append(
                {
                    "id": operation.get("operationId", f"{method}{path}"),
                    "method": method,
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": operation.get("parameters", []),
                    "responses": sorted(operation.get("responses", {}).items()),
                }
            )
    return list(groups.items())


router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
@router.get("/redoc", response_class=HTMLResponse)
async def reference(request: Request) -> HTMLResponse:
    return HTMLResponse(
        _page(),
        headers={"Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'"},
    )


@cache
def _page() -> str:
    from reporting.openapi import document as reference_document  # it imports the app

    document = reference_document()  # what openapi.json holds, with its description
    return PAGE.render(info=document.get("info", {}), groups=_groups(document))
