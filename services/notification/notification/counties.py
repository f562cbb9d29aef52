"""The county configuration: who issues a county's circulars (发文机关) and with which document
prefix, from a TOML file ($GRASSROOTS_COUNTIES_FILE, default deploy/counties.toml):

    [counties."610526"]
    issuing_body = "中共蒲城县教育局委员会办公室"
    document_prefix = "蒲教党办"

    [defaults]            # optional: for the counties not listed
    issuing_body = "…"
    document_prefix = "…"

The issuing body also signs every notice of its county: a notice is the committee's, never
"the platform's". A county with neither an entry nor defaults cannot issue a circular.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)
DEFAULT_FILE = Path(__file__).resolve().parents[3] / "deploy" / "counties.toml"


class _Issuer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    issuing_body: str = Field(min_length=1, max_length=200)
    document_prefix: str = Field(min_length=1, max_length=50)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    counties: dict[str, _Issuer] = Field(default_factory=dict)
    defaults: _Issuer | None = None


@dataclass(frozen=True)
class Issuer:
    """Who issues a county's circulars, and how their numbers read."""

    issuing_body: str  # e.g. 中共蒲城县教育局委员会办公室
    document_prefix: str  # e.g. 蒲教党办

    def document_number(self, year: int, number: int) -> str:
        """蒲教党办〔2012〕1号."""
        return f"{self.document_prefix}〔{year}〕{number}号"


@dataclass(frozen=True)
class Counties:
    by_county: dict[str, Issuer] = field(default_factory=dict)
    defaults: Issuer | None = None

    def issuer(self, county_code: str) -> Issuer | None:
        """The county's issuer, else the defaults; None when neither is configured."""
        return self.by_county.get(county_code, self.defaults)


def no_issuer(county_code: str) -> str:
    """Why a county's circular cannot be issued."""
    return f"county {county_code} has no issuing body configured (GRASSROOTS_COUNTIES_FILE)"


def parse(text: str) -> Counties:
    """The configuration in `text` (TOML); ValueError naming what is wrong."""
    try:
        read = _File.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        raise ValueError(f"county configuration: {error}") from error
    return Counties(
        {code: Issuer(i.issuing_body, i.document_prefix) for code, i in read.counties.items()},
        Issuer(read.defaults.issuing_body, read.defaults.document_prefix)
        if read.defaults
        else None,
    )


def load_counties(path: Path) -> Counties:
    """The file's configuration; none when the file is absent (every circular is then refused
    until it is provided). A file that is there but wrong is an error: the service must not
    start with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        log.warning("no county configuration at %s: circulars cannot be issued", path)
        return Counties()
    return parse(text)
