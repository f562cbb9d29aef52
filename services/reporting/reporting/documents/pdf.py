"""HTML to PDF with headless Chromium's print-to-PDF (`make browser` installs Debian's chromium
and the CJK font fonts-wqy-zenhei): a real layout engine with CSS paged media (@page A4,
margins) and inline SVG charts, and no Python dependency (WeasyPrint would add pango and
its own wheel chain). Each document is one short-lived process on a temporary directory."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from grassroots.contract.labels import label
from reporting.wording import cn_date, share_text

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["label"] = label
templates.globals["percent"] = share_text
templates.globals["cn_date"] = cn_date

TIMEOUT = 60.0


class NoEngine(RuntimeError):
    """No Chromium on this machine (`make browser` installs it)."""


def chromium() -> str:
    for name in (os.environ.get("GRASSROOTS_CHROMIUM"), "chromium", "chromium-browser"):
        if name and (found := shutil.which(name)):
            return found
    raise NoEngine("chromium is not installed (make browser)")


def render(template: str, **context: object) -> str:
    return templates.get_template(template).render(**context)


async def pdf_of(html: str) -> bytes:
    """The PDF Chromium prints of the page (no header or footer of its own)."""
    engine = chromium()
    with tempfile.TemporaryDirectory(prefix="grassroots-pdf-") as work:
        page, out = Path(work) / "page.html", Path(work) / "page.pdf"
        page.write_text(html, encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            engine,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw",
            f"--user-data-dir={work}/profile",
            f"--print-to-pdf={out}",
            page.as_uri(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        if not out.exists() or out.stat().st_size == 0:
            raise RuntimeError(f"chromium printed no PDF: {err.decode(errors='replace')[-500:]}")
        return out.read_bytes()
