"""The CloudEvents 1.0 envelope (structured JSON mode) every record on every topic carries."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Literal, Self, TypeVar, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from grassroots.contract.common import Identifier

CONTENT_TYPE = "application/cloudevents+json"

CountyCode = Field(pattern=r"^[0-9]{6}$", description="6-digit county code, e.g. 610526 (蒲城县).")


# Covariant: every declared event (`CloudEvent[SomeData]`) is a `CloudEvent[BaseModel]`.
DataT = TypeVar("DataT", bound=BaseModel, covariant=True)


class CloudEvent(BaseModel, Generic[DataT]):
    """Envelope attributes; each event type is a subclass of `CloudEvent[<its data model>]`
    that fixes `type` to a literal (see `grassroots.contract.events`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
        None, max_length=55, description="W3C trace context (extension)."
    )
    data: DataT = Field(description="The payload.")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        literal = get_args(cls.model_fields["type"].annotation)
        if len(literal) == 1 and isinstance(literal[0], str):
            cls.event_type = literal[0]

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
