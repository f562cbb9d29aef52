"""The office's writes, for the API and the dashboard alike. Each is ONE transaction of the
service's unit of work: the circular's row locked and checked, the decision kept, the read model
changed and the decision's event in the outbox — all committed together or not at all. The
person deciding is the office token's label (tokens are made per person)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from grassroots.contract.events import (
    SupervisionCircularDiscardedEvent,
    SupervisionCircularEditedEvent,
    SupervisionCircularRequestedEvent,
    SupervisionCircularSignedEvent,
)
from grassroots.contract.supervision import (
    CircularDiscarded,
    CircularEdited,
    CircularRequested,
    CircularSigned,
    EditAction,
)
from grassroots.plumbing.service import Runtime
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting.auth import Scope
from reporting.circulars import decisions, rules
from reporting.circulars.decisions import Decision
from reporting.circulars.rules import Refused
from reporting.store.ingest import ReportingStore

M = TypeVar("M", bound=BaseModel)
Campaign = Mapping[str, Any]


def contract(model: type[M], values: Mapping[str, Any]) -> M:
    """The decision as the contract has it, or 422 with the contract's reasons."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise rules.contract_refusal(error) from None


def edit_of(circular_id: str, body: Mapping[str, Any], scope: Scope) -> CircularEdited:
    return contract(CircularEdited, {**body, "circular_id": circular_id, "edited_by": scope.label})


def sign_off_of(circular_id: str, scope: Scope) -> CircularSigned:
    return contract(CircularSigned, {"circular_id": circular_id, "signed_by": scope.label})


def discard_of(circular_id: str, reason: str | None, scope: Scope) -> CircularDiscarded:
    given = {} if reason is None else {"reason": reason}
    return contract(
        CircularDiscarded, {"circular_id": circular_id, "discarded_by": scope.label, **given}
    )


async def request_draft(runtime: Runtime[ReportingStore], campaign: Campaign, scope: Scope) -> str:
    """Ask notification for a draft now; the request's id (the draft's id follows it)."""
    async with runtime.unit_of_work() as uow:
        request = contract(
            CircularRequested,
            {
                "campaign_id": campaign["campaign_id"],
                "request_id": rules.request_id(uow.now, secrets.token_hex(3)),
                "requested_by": scope.label,
            },
        )
        event = uow.emit(
            SupervisionCircularRequestedEvent,
            request,
            countycode=campaign["county_code"],
            campaignid=campaign["campaign_id"],
        )
        await uow.store.record_decision(decisions.request_row(event.id, request, event.time))
    return request.request_id


async def decide(runtime: Runtime[ReportingStore], campaign: Campaign, decision: Decision) -> None:
    """Apply and publish one decision about a draft, or refuse it with nothing changed."""
    circular_id = decision.circular_id
    async with runtime.unit_of_work() as uow:
        store = uow.store
        circular = await store.lock_circular(circular_id)
        if circular is None or circular["campaign_id"] != campaign["campaign_id"]:
            raise rules.unknown_circular(circular_id)
        refusal = rules.not_a_draft(circular_id, circular["status"])
        if refusal is None and isinstance(decision, CircularEdited):
            refusal = rules.edit_refusal(decision, await store.item_ids(circular_id))
            if (
                refusal is None
                and decision.action is EditAction.ADD
                and decision.org_id is not None
                and not await store.is_organisation_of(decision.org_id, campaign["county_code"])
            ):
                refusal = rules.not_registered(decision.org_id, campaign["county_code"])
        if refusal is not None:
            raise refusal
        event_id = _emit(uow, campaign, decision)
        seen = await decisions.apply(store, decision, uow.now)
        if seen is None:
            # Not reached with the row locked; the change is conditional all the same.
            raise Refused(
                409,
                f"circular {circular_id} changed meanwhile: read it again",
                "该通报刚被他人处理，请刷新后再试",
            )
        kept = decisions.row(event_id, campaign["campaign_id"], decision, uow.now, applied=seen)
        await store.record_decision(kept)


def _emit(uow: UnitOfWork[ReportingStore], campaign: Campaign, decision: Decision) -> str:
    """The decision's event to the outbox (its time: the unit's, as the decision's)."""
    where = {"countycode": campaign["county_code"], "campaignid": campaign["campaign_id"]}
    match decision:
        case CircularEdited():
            return uow.emit(SupervisionCircularEditedEvent, decision, **where).id
        case CircularSigned():
            return uow.emit(SupervisionCircularSignedEvent, decision, **where).id
        case CircularDiscarded():
            return uow.emit(SupervisionCircularDiscardedEvent, decision, **where).id
