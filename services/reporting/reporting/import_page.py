"""The office's Excel import (数据导入, issue 18): the templates to download, a file to check,
the errors by sheet, row and column, and — a separate, deliberate step — publishing the good
rows through the HTTP intake with the dashboard's credential.

Only an office token's session may check or publish, and only for its own county: every event
carries the office's county code, and a row naming an organisation registered in another
county is refused on its cell. The checked events wait in this process's memory (a few files,
half an hour) between the check and the publish; after a restart the office uploads the file
again — the event ids come from the rows, so nothing is ever published twice in effect. Forms
are protected as the circulars' are: a SameSite=Strict session cookie, and a POST from another
site's page is refused."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlsplit

import asyncpg
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from grassroots.contract.client import HttpPublisher, PublishError
from grassroots.importing.command import default_source, type_title
from grassroots.importing.reading import (
    CellError,
    ImportedEvent,
    ImportFileError,
    Where,
    read_workbook,
)
from grassroots.importing.templates import file_name, template_bytes, template_names
from reporting.auth import Scope, reporting_settings
from reporting.dashboard import county_campaign_page, page
from reporting.store.ingest import ReportingStore

router = APIRouter(include_in_schema=False)
MAX_BYTES = 20 * 1024 * 1024
"""The largest file accepted (about 100,000 rows)."""
KEPT = 8
KEPT_SECONDS = 30 * 60
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OFFICE_ONLY = "此令牌只能查看：导入数据需要办公室令牌（token create --role office）"
OTHER_SITE = "拒绝来自其他网站的提交"
NOT_CONFIGURED = (
    "数据接收服务尚未配置（GRASSROOTS_INTAKE_URL、GRASSROOTS_INTAKE_CREDENTIAL），"
    "暂不能发布导入的数据；仍可下载模板、检查文件。请联系平台管理员。"
)
EXPIRED = "检查结果已过期或不存在（保留30分钟），请重新上传文件。"


@dataclass
class Check:
    """A checked file waiting for the office's decision to publish."""

    county_code: str
    campaign_id: str
    file_name: str
    rows: int
    events: list[ImportedEvent]
    errors: list[CellError]
    created: float = field(default_factory=time.monotonic)


def _checks(request: Request) -> OrderedDict[str, Check]:
    kept: OrderedDict[str, Check] | None = getattr(request.app.state, "import_checks", None)
    if kept is None:
        kept = request.app.state.import_checks = OrderedDict()
    now = time.monotonic()
    for key in [key for key, check in kept.items() if now - check.created > KEPT_SECONDS]:
        del kept[key]
    return kept


def _intake(request: Request) -> tuple[str, str] | None:
    settings = reporting_settings(request)
    credential = settings.intake_credential.get_secret_value() if settings.intake_credential else ""
    if not settings.intake_url or not credential:
        return None
    return settings.intake_url, credential


def _refusal(request: Request, scope: Scope) -> str | None:
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        return OTHER_SITE
    if not scope.office:
        return OFFICE_ONLY
    return None


def _page(
    request: Request, scope: Scope, campaign: asyncpg.Record, status: int = 200, **context: object
) -> HTMLResponse:
    return page(
        "import.html",
        status,
        scope=scope,
        campaign=campaign,
        office=scope.office,
        templates=[(name, file_name(name)) for name in template_names()],
        intake_ready=_intake(request) is not None,
        not_configured=NOT_CONFIGURED,
        type_title=type_title,
        **context,
    )


@router.get("/campaigns/{campaign_id}/import", response_class=HTMLResponse)
async def import_page(request: Request, campaign_id: str) -> Response:
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    return _page(request, *found)


@router.get("/campaigns/{campaign_id}/import/templates/{name}")
async def template_file(request: Request, campaign_id: str, name: str) -> Response:
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    template = name.removesuffix(".xlsx")
    if template not in template_names():
        return page("login.html", 404, error="没有这个模板", scope=found[0])
    return Response(
        template_bytes(template),
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.post("/campaigns/{campaign_id}/import", response_class=HTMLResponse)
async def check_file(request: Request, campaign_id: str) -> Response:
    """Read the uploaded workbook: every bad cell, the events of the good rows (kept)."""
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    scope, campaign = found
    refusal = _refusal(request, scope)
    if refusal is not None:
        return _page(request, scope, campaign, 403, error=refusal)
    if int(request.headers.get("content-length") or 0) > MAX_BYTES + 64 * 1024:
        return _page(
            request, scope, campaign, 413, error="文件太大：不能超过20MB，请分成几个文件导入"
        )
    form = await request.form(max_files=1, max_fields=4)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, scope, campaign, 400, error="请选择要导入的 Excel 文件（.xlsx）")
    data = await upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return _page(
            request, scope, campaign, 413, error="文件太大：不能超过20MB，请分成几个文件导入"
        )
    county = campaign["county_code"]
    where = Where(county, campaign_id, default_source(county))
    try:
        result = await asyncio.to_thread(read_workbook, data, where)
    except ImportFileError as error:
        return _page(request, scope, campaign, 400, error=str(error))
    foreign = await _other_counties(request, county, result.events)
    events = [item for item in result.events if item.event.id not in foreign]
    errors = sorted(
        [*result.errors, *foreign.values()],
        key=lambda e: (result.sheets.index(e.sheet) if e.sheet in result.sheets else 0, e.row),
    )
    check = Check(county, campaign_id, upload.filename, result.rows, events, errors)
    kept = _checks(request)
    while len(kept) >= KEPT:
        kept.popitem(last=False)
    check_id = secrets.token_urlsafe(16)
    kept[check_id] = check
    return _page(
        request, scope, campaign, 200, check=check, check_id=check_id, kinds=_kinds(events)
    )


async def _other_counties(
    request: Request, county: str, events: list[ImportedEvent]
) -> dict[str, CellError]:
    """Rows naming an organisation registered in another county: refused on that cell."""
    named = {org for item in events for _, org in item.organisations()}
    if not named:
        return {}
    async with request.app.state.runtime.pool.acquire() as conn:
        registered = await ReportingStore(conn).registered_organisations(named)
    refused: dict[str, CellError] = {}
    for item in events:
        for field_name, org in item.organisations():
            found = registered.get(org)
            if found is not None and found.county_code != county:
                refused[item.event.id] = item.error(
                    field_name,
                    f"党组织 {org} 登记在其他县区（{found.county_code}），不能由本县导入",
                )
                break
    return refused


def _kinds(events: list[ImportedEvent]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for item in events:
        counts[item.event.type] = counts.get(item.event.type, 0) + 1
    return list(counts.items())


@router.post("/campaigns/{campaign_id}/import/publish", response_class=HTMLResponse)
async def publish_checked(request: Request, campaign_id: str) -> Response:
    """Publish a checked file's good rows through the intake (the office chose to)."""
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    scope, campaign = found
    refusal = _refusal(request, scope)
    if refusal is not None:
        return _page(request, scope, campaign, 403, error=refusal)
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    check_id = (fields.get("check") or [""])[0]
    kept = _checks(request)
    check = kept.get(check_id)
    if check is None or (check.county_code, check.campaign_id) != (
        campaign["county_code"],
        campaign_id,
    ):
        return _page(request, scope, campaign, 410, error=EXPIRED)
    intake = _intake(request)
    if intake is None:
        return _page(request, scope, campaign, 503, error=NOT_CONFIGURED)
    publisher = HttpPublisher(*intake, batch_size=500)
    try:
        report = await asyncio.to_thread(publisher.publish, [item.event for item in check.events])
    except PublishError as error:
        reason = (
            "无法连接数据接收服务，未发布；请稍后再试"
            if error.status == 0
            else f"数据接收服务拒绝了本次发布（{error.status}）：{error.detail}"
        )
        return _page(request, scope, campaign, 502, error=reason)
    del kept[check_id]
    refused = [
        check.events[result.index].error(
            next(iter(check.events[result.index].letters), ""), f"数据接收服务拒绝：{result.reason}"
        )
        for result in report.results
        if result.status != "accepted"
    ]
    return _page(
        request,
        scope,
        campaign,
        200,
        published=report.accepted,
        refused=refused,
        file_name=check.file_name,
    )
