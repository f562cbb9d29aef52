"""The contract for county engineers at /contract/: the HTML documentation generated from the
AsyncAPI document by the official generator's HTML template (`make contract`, or
`python -m grassroots.contract_documents site`), and the machine-readable files themselves.

Everything is served from here — no CDN, no font or script from the internet — and needs no
token: the contract is what county systems build against."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from grassroots.contract import EVENTS, json_schemas
from grassroots.contract_documents import SITE_FOLDER

router = APIRouter(include_in_schema=False)

# What the page may load: only this server (the template's styles are partly inline, its icon
# is a data: URI, and its script compiles the document's JSON Schemas with ajv: unsafe-eval).
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-eval'; connect-src 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
MISSING = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>事件契约文档未生成</title></head>
<body><h1>事件契约文档未生成 · The contract's documentation is not built here</h1>
<p>运行 <code>make contract</code> 生成。Run <code>make contract</code> to build it.</p>
<p>机器可读的契约 · The machine-readable contract:
<a href="asyncapi.json">asyncapi.json</a>, <a href="schemas/">schemas/</a>.</p></body></html>
"""


def site_folder() -> Path:
    """GRASSROOTS_CONTRACT_SITE, or contract/html of this checkout."""
    configured = os.environ.get("GRASSROOTS_CONTRACT_SITE")
    return Path(configured) if configured else SITE_FOLDER


@router.get("/contract")
async def contract_root() -> Response:
    return RedirectResponse("/contract/", status_code=308)


@router.get("/contract/asyncapi.json")
async def asyncapi_document() -> Response:
    document = json_schemas.folder().joinpath("asyncapi.json").read_bytes()
    return Response(document, media_type="application/json", headers=HEADERS)


@router.get("/contract/schemas/")
async def schema_index() -> Response:
    items = "".join(f'<li><a href="{name}.json">{name}.json</a></li>' for name in sorted(EVENTS))
    return HTMLResponse(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>JSON Schemas'
        f"</title></head><body><h1>JSON Schemas</h1><ul>{items}</ul></body></html>",
        headers=HEADERS,
    )


@router.get("/contract/schemas/{name}.json")
async def schema(name: str) -> Response:
    if name not in EVENTS:
        raise HTTPException(404, f"no event type {name[:100]!r}")
    document = json_schemas.folder().joinpath("schemas", f"{name}.json").read_bytes()
    return Response(document, media_type="application/json", headers=HEADERS)


@router.get("/contract/{path:path}")
async def site(path: str) -> Response:
    folder = site_folder().resolve()
    target = (folder / (path or "index.html")).resolve()
    if not target.is_relative_to(folder):
        raise HTTPException(404, "not found")
    if not target.is_file():
        if path in {"", "index.html"}:
            return HTMLResponse(MISSING, status_code=404, headers=HEADERS)
        raise HTTPException(404, "not found")
    media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith("javascript"):
        media_type += "; charset=utf-8"
    return FileResponse(target, media_type=media_type, headers=HEADERS)
