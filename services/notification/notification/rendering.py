"""Messages in Chinese from the templates in templates/ (jinja2): subject, text and HTML.

A kind's template (`<kind>.txt.j2`) is plain text with a `subject` block and a `body` block,
never autoescaped; the HTML alternative of an email is made from that text by
`email.html.j2`, which autoescapes, so whatever a county system wrote cannot become markup.
Codes are shown through the one table of labels (`grassroots.contract.labels`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from grassroots.contract.labels import label
from notification.domain import Addressee, Kind

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def cn_date(value: str | dt.date | dt.datetime) -> str:
    """2012-06-30 → 2012年6月30日."""
    day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if isinstance(day, dt.datetime):
        day = day.date()
    return f"{day.year}年{day.month}月{day.day}日"


def score(value: float) -> str:
    return f"{value:.2f}"


def _label(code: str, table: str) -> str:
    return label(table, code)


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the code: no stat per message
    )
    env.filters.update(label=_label, cn_date=cn_date, score=score)
    return env


def _block(template: Template, name: str, context: dict[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(context))).strip()


def render(
    kind: Kind, facts: dict[str, Any], *, to: Addressee | None, today: dt.date, sender: str
) -> Rendered:
    """The message of one notice for one addressee (None: for a county system's webhook)."""
    env = environment()
    template = env.get_template(f"{kind.value}.txt.j2")
    context = {"f": facts, "to": to, "today": today, "sender": sender}
    subject = _block(template, "subject", context)
    text = template.render(context).strip() + "\n"
    paragraphs = [line.strip() for line in text.splitlines() if line.strip()]
    html = env.get_template("email.html.j2").render(subject=subject, paragraphs=paragraphs)
    return Rendered(subject=subject, text=text, html=html)
