"""Messages in Chinese from the templates in templates/ (jinja2): subject, text and HTML.

A kind's template (`<kind>.txt.j2`) is plain text with a `subject` block and a `body` block,
never autoescaped; the HTML alternative of an email is made from that text by
`email.html.j2`, which autoescapes, so whatever a county system wrote cannot become markup.
Codes are shown through the one table of labels (`grassroots.contract.labels`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup

from grassroots.contract.labels import label
from notification.domain import DOCUMENTS, Addressee, Kind

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def cn_date(value: str | dt.date | dt.datetime) -> str:
    """2012-06-30 → 2012年6月30日."""
    day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if isinstance(day, dt.datetime):
        day = day.date()
    return f"{day.year}年{day.month}月{day.day}日"


def score(value: float) -> str:
    return f"{value:.2f}"


def number(value: float) -> str:
    """60.0 → 60, 59.5 → 59.5: a threshold as people write it."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def percent(rate: float) -> str:
    """A rate (0–1) as a percentage: 0.7 → 70%, 0.755 → 75.5%."""
    return f"{rate * 100:.1f}".rstrip("0").rstrip(".") + "%"


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
    env.filters.update(label=_label, cn_date=cn_date, score=score, number=number, percent=percent)
    return env


def _block(template: Template, name: str, context: dict[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(context))).strip()


@dataclass(frozen=True)
class Draft:
    """A notice's message before it is addressed: rendered once, however many hear it."""

    subject: str
    text: str  # everything but the salutation
    html_body: Markup  # its paragraphs, escaped by paragraphs.html.j2
    salutation: bool = True  # False: a document (a signed circular), read alike by everyone


def draft(kind: Kind, facts: dict[str, Any], *, today: dt.date, sender: str) -> Draft:
    template = environment().get_template(f"{kind.value}.txt.j2")
    context = {"f": facts, "to": None, "today": today, "sender": sender}
    subject = _block(template, "subject", context)
    text = template.render(context).strip() + "\n"
    paragraphs = [line.strip() for line in text.splitlines() if line.strip()]
    html_body = environment().get_template("paragraphs.html.j2").render(paragraphs=paragraphs)
    # escaped by its template
    return Draft(subject, text, Markup(html_body.rstrip()), salutation=kind not in DOCUMENTS)


def address(message: Draft, to: Addressee | None, *, html: bool = True) -> Rendered:
    """The drafted message for one addressee (None: for a county system's webhook); the HTML
    alternative only when asked (email). A document has no salutation."""
    salutation = _salutation(to.org_name, to.person) if to and message.salutation else ""
    text = f"{salutation}\n{message.text}" if salutation else message.text
    page = (
        environment()
        .get_template("email.html.j2")
        .render(subject=message.subject, salutation=salutation, body=message.html_body)
        if html
        else None
    )
    return Rendered(subject=message.subject, text=text, html=page)


@lru_cache(maxsize=4096)
def _salutation(org_name: str, person: str | None) -> str:
    """The same for every message to one organisation: rendered once (a parent hears of each of
    its branches)."""
    base = environment().get_template("base.txt.j2")  # the kinds' templates extend it
    return _block(base, "salutation", {"to": {"org_name": org_name, "person": person}})


def render(
    kind: Kind, facts: dict[str, Any], *, to: Addressee | None, today: dt.date, sender: str
) -> Rendered:
    """The message of one notice for one addressee (None: for a county system's webhook)."""
    return address(draft(kind, facts, today=today, sender=sender), to)
