"""The CloudEvents 1.0 envelope (structured JSON mode) every record on every topic carries."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from grassroots.contract.common import Identifier

CONTENT_TYPE = "application/cloudevents+json"

CountyCode = Field(pattern=r"^[0-9]{6}$", description="6-digit county code, e.g. 610526 (蒲城县).")


# CloudEvents extension attributes (the specification's naming rule): lowercase letters and
# digits, at most 20 characters; a value is a string, an integer (32-bit) or a boolean.
EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
EXTENSION_STRING_MAX = 2048
_INT32 = range(-(2**31), 2**31)
EXTENSION_SCHEMA: dict[str, Any] = {
    "type": ["string", "integer", "boolean"],
    "maxLength": EXTENSION_STRING_MAX,
    "minimum": _INT32.start,
    "maximum": _INT32.stop - 1,
    "description": "A CloudEvents extension attribute (string, integer or boolean).",
}

# W3C Trace Context: traceparent is version-traceid-parentid-flags (lowercase hex; the all-zero
# ids are invalid); tracestate is up to 32 comma-separated key=value members, at most 512 chars.
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")
_TRACESTATE_KEY = r"[a-z0-9][_0-9a-z\-*/]{0,255}(?:@[a-z][_0-9a-z\-*/]{0,13})?"
_TRACESTATE_VALUE = r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
_TRACESTATE_MEMBER = f"{_TRACESTATE_KEY}={_TRACESTATE_VALUE}"
TRACESTATE_PATTERN = rf"^{_TRACESTATE_MEMBER}(?:[ \t]*,[ \t]*{_TRACESTATE_MEMBER}){{0,31}}$"

_TRACESTATE = re.compile(TRACESTATE_PATTERN)


def _extension_rules(schema: dict[str, Any]) -> None:
    # In the JSON Schema: attributes the contract does not name are extension attributes.
    schema["additionalProperties"] = dict(EXTENSION_SCHEMA)
    schema["propertyNames"] = {"pattern": EXTENSION_NAME.pattern, "maxLength": 20}


def valid_traceparent(value: str | None) -> bool:
    """A W3C traceparent the platform can continue (any other value starts a new trace, as the
    W3C specification says; the contract of 1.0.0 accepts any string of up to 55 characters)."""
    return value is not None and TRACEPARENT.match(value) is not None


# Covariant: every declared event (`CloudEvent[SomeData]`) is a `CloudEvent[BaseModel]`.
DataT = TypeVar("DataT", bound=BaseModel, covariant=True)


class CloudEvent(BaseModel, Generic[DataT]):
    """Envelope attributes; each event type is a subclass of `CloudEvent[<its data model>]`
    that fixes `type` to a literal (see `grassroots.contract.events`)."""

    # Attributes the contract does not name are CloudEvents extension attributes, checked by
    # `_extensions` (names and value types); `data` stays closed to unknown fields.
    model_config = ConfigDict(extra="allow", frozen=True, json_schema_extra=_extension_rules)

    # Which `data` field the subject must equal (branch_id or campaign_id).
    subject_field: ClassVar[str] = "branch_id"
    campaign_scoped: ClassVar[bool] = True
    # Set for each declared event type from its `type` literal and its topic.
    event_type: ClassVar[str] = ""
    topic: ClassVar[str] = ""

    specversion: Literal["1.0"] = Field(description='CloudEvents version, always "1.0".')
    id: str = Field(
        min_length=1,
        max_length=200,
        description="Unique per source; the platform de-duplicates on (source, id).",
    )
    source: str = Field(
        min_length=1,
        max_length=500,
        pattern=r"^\S+$",
        description="The publishing system, e.g. /counties/610526/edu-office.",
    )
    type: str = Field(description="The event type.")
    time: AwareDatetime = Field(description="RFC 3339 with offset: when it happened.")
    subject: Identifier = Field(
        description="branch_id for branch events, org_id for organisation events, campaign_id for "
        "campaign events; the Kafka key."
    )
    countycode: str = CountyCode
    campaignid: Identifier | None = Field(
        None, description="The campaign, e.g. pucheng-edu-2012; required for every type but org.*."
    )
    datacontenttype: Literal["application/json"] | None = Field(
        None, description="application/json"
    )
    dataschema: str | None = Field(
        None, max_length=500, description="Optional URI of data's schema."
    )
    traceparent: str | None = Field(
        None,
        max_length=55,
        description="W3C trace context (CloudEvents distributed-tracing extension), e.g. "
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01. The platform continues the "
        "trace; a value not in the W3C format starts a new one.",
    )
    tracestate: str | None = Field(
        None,
        max_length=512,
        json_schema_extra={"pattern": TRACESTATE_PATTERN},  # checked by _tracestate
        description="W3C trace state, vendor data of the trace (distributed-tracing extension), "
        "e.g. congo=t61rcWkgMzE.",
    )
    data: DataT = Field(description="The payload.")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        literal = get_args(cls.model_fields["type"].annotation)
        if len(literal) == 1 and isinstance(literal[0], str):
            cls.event_type = literal[0]

    @field_validator("tracestate")
    @classmethod
    def _tracestate(cls, value: str | None) -> str | None:
        if value is not None and not _TRACESTATE.match(value):
            raise ValueError("not a W3C tracestate: up to 32 key=value members, comma-separated")
        return value

    @model_validator(mode="after")
    def _extensions(self) -> Self:
        for name, value in (self.model_extra or {}).items():
            if not EXTENSION_NAME.match(name):
                raise ValueError(
                    f"unknown attribute {name[:40]!r}: an extension attribute's name is 1 to 20 "
                    "lowercase letters or digits"
                )
            if isinstance(value, bool):
                continue
            if isinstance(value, int) and value in _INT32:
                continue
            if isinstance(value, str) and len(value) <= EXTENSION_STRING_MAX:
                continue
            raise ValueError(
                f"extension attribute {name!r}: a string (at most {EXTENSION_STRING_MAX} "
                "characters), a 32-bit integer or a boolean"
            )
        return self

    @property
    def extensions(self) -> dict[str, str | int | bool]:
        """The extension attributes the event carries beyond the contract's (not traceparent and
        tracestate, which the contract names)."""
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        subject_value = getattr(self.data, self.subject_field)
        if self.subject != subject_value:
            raise ValueError(
                f"subject {self.subject!r} must equal data.{self.subject_field} {subject_value!r}"
            )
        if self.campaign_scoped and self.campaignid is None:
            raise ValueError(f"campaignid is required for {self.type}")
        data_campaign = self.data.__dict__.get("campaign_id")  # no pydantic __getattr__ miss
        if data_campaign is not None and self.campaignid != data_campaign:
            raise ValueError(
                f"campaignid {self.campaignid!r} must equal data.campaign_id {data_campaign!r}"
            )
        return self

    @property
    def campaign(self) -> str:
        """The campaign of a campaign-scoped event (every type but org.* and notification.*,
        whose `campaignid` the contract requires)."""
        if self.campaignid is None:
            raise ValueError(f"{self.type} {self.id} carries no campaignid")
        return self.campaignid

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
