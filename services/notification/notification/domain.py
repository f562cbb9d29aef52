"""Who hears what, and when — as pure rules. No I/O, no clock: times come in as arguments.

Days are calendar days in county time (UTC+8), as everywhere on the platform
(grassroots.contract.calendar): a task due on 30 June is overdue from 1 July 00:00 +08:00.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import validate_email
from pydantic_core import PydanticCustomError

from grassroots.contract.calendar import at_county_hour, county_today, overdue_from


class Kind(StrEnum):
    """What a notification is about; the `kind` of notification.delivered / failed."""

    GRADING_RESULT = "grading_result"
    GRADING_INCOMPLETE = "grading_incomplete"
    PHASE_OPENED = "phase_opened"
    PHASE_CLOSING = "phase_closing"
    COMMITMENT_DUE = "commitment_due"
    COMMITMENT_RETURNED = "commitment_returned"
    TASK_OVERDUE = "task_overdue"
    OVERDUE_ESCALATED = "overdue_escalated"
    CIRCULAR = "circular"  # a circular the office signed off (通报), as the issued document
    COMMENDATION = "commendation"
    # Drafts of circulars wait for the office: nothing of a draft goes to the organisations.
    CIRCULAR_DRAFTED = "circular_drafted"  # a draft waits (or its sign-off was refused)
    CIRCULAR_SIGN_OFF_DUE = "circular_sign_off_due"  # still unsigned after the campaign's days
    # The superior's duty (加强具体指导): what waits for it, and reminders when it waits too long.
    PROBLEM_ESCALATED = "problem_escalated"
    REVIEW_REQUESTED = "review_requested"
    ESCALATION_OVERDUE = "escalation_overdue"
    REVIEW_OVERDUE = "review_overdue"


class Audience(StrEnum):
    SECRETARY = "secretary"  # the branch's secretary: email, and the branch's inbox
    RESPONSIBLE = "responsible"  # a task's responsible person: no address → the branch's inbox
    OFFICE = "office"  # the Party office: the county's committee (its secretary, its inbox)
    PARENT = "parent"  # the branch's parent organisation (or the superior the event names)
    EVERY_BRANCH = "every_branch"  # every organisation of the county but the committees


# The one table of who hears what. Every notice also goes to the county's webhooks.
WHO_HEARS_WHAT: dict[Kind, tuple[Audience, ...]] = {
    Kind.GRADING_RESULT: (Audience.SECRETARY,),
    Kind.GRADING_INCOMPLETE: (Audience.SECRETARY, Audience.OFFICE),
    Kind.PHASE_OPENED: (Audience.EVERY_BRANCH,),
    Kind.PHASE_CLOSING: (Audience.EVERY_BRANCH,),
    Kind.COMMITMENT_DUE: (Audience.SECRETARY,),  # of each branch still without a commitment
    Kind.COMMITMENT_RETURNED: (Audience.SECRETARY,),
    Kind.TASK_OVERDUE: (Audience.RESPONSIBLE, Audience.SECRETARY),
    Kind.OVERDUE_ESCALATED: (Audience.PARENT,),
    Kind.CIRCULAR: (Audience.EVERY_BRANCH, Audience.OFFICE),  # every organisation of the county
    Kind.COMMENDATION: (Audience.SECRETARY,),  # the commended organisation; see below
    Kind.CIRCULAR_DRAFTED: (Audience.OFFICE,),  # in its inbox only: see INBOX_ONLY
    Kind.CIRCULAR_SIGN_OFF_DUE: (Audience.OFFICE,),
    Kind.PROBLEM_ESCALATED: (Audience.PARENT,),  # the organisation it went to (to_org_id)
    Kind.REVIEW_REQUESTED: (Audience.PARENT,),
    Kind.ESCALATION_OVERDUE: (Audience.PARENT,),  # to_org_id
    Kind.REVIEW_OVERDUE: (Audience.PARENT,),  # reviewer_org_id
}
# The superior's time to answer an escalated problem and to review a plan, when the campaign's
# rules (escalation_answer_days, review_due_days) do not say.
DEFAULT_ESCALATION_ANSWER_DAYS = 10
DEFAULT_REVIEW_DUE_DAYS = 5
# A draft waits in the office's inbox (and the county's systems hear of it): no draft is mailed,
# so nothing of a circular reaches a mailbox before a person signed it off. The reminder is.
INBOX_ONLY = frozenset({Kind.CIRCULAR_DRAFTED})
# Read as a document of the committee: no salutation, the issuing body and day at its foot.
DOCUMENTS = frozenset({Kind.CIRCULAR})
# The campaign's days for the office to sign a draft off before it is reminded, when its rules
# (circular_sign_off_days) do not say.
DEFAULT_CIRCULAR_SIGN_OFF_DAYS = 3
# A supplementary result (补充定级) answers the incomplete notice, which the office heard too.
SUPPLEMENTARY_RESULT_HEARS = (Audience.SECRETARY, Audience.OFFICE)


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    INBOX = "inbox"


@dataclass(frozen=True)
class Addressee:
    """An organisation a notice is for: its inbox, and its secretary's email if it has one."""

    org_id: str
    org_name: str
    person: str | None = None
    email: str | None = None
    by_email: bool = True  # False: the inbox only (a responsible person has no address)


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str


@dataclass(frozen=True)
class PlannedDelivery:
    channel: Channel
    recipient: str  # email address (or the org id when it has none), endpoint name, branch_id
    address: str | None  # where it goes: the email address or the URL; None: nowhere
    addressee: Addressee | None = None


def plan_deliveries(
    addressees: Iterable[Addressee], endpoints: Iterable[Endpoint]
) -> list[PlannedDelivery]:
    """One delivery per (recipient, channel): an organisation named twice hears once.

    An addressee without an email address still gets an email delivery, addressed to its id
    with no address: it fails at once and is reported (a bad recipient), never retried.
    """
    planned: dict[tuple[Channel, str], PlannedDelivery] = {}
    for who in addressees:
        planned.setdefault((Channel.INBOX, who.org_id), _inbox(who))
        if not who.by_email:
            continue
        recipient = who.email or who.org_id
        planned.setdefault(
            (Channel.EMAIL, recipient), PlannedDelivery(Channel.EMAIL, recipient, who.email, who)
        )
    for endpoint in endpoints:
        planned.setdefault(
            (Channel.WEBHOOK, endpoint.name),
            PlannedDelivery(Channel.WEBHOOK, endpoint.name, endpoint.url),
        )
    return list(planned.values())


def _inbox(who: Addressee) -> PlannedDelivery:
    return PlannedDelivery(Channel.INBOX, who.org_id, who.org_id, who)


def address_problem(address: str | None) -> str | None:
    """Why an email address cannot be written to, or None when it looks deliverable."""
    if not address:
        return "no email address on record"
    try:
        validate_email(address)
    except PydanticCustomError as error:
        return f"invalid email address {address!r}: {error.message()}"
    return None


# ------------------------------------------------------------------ delivery attempts


class Next(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    permanent: bool = False  # retrying cannot help: bad address, 5xx, webhook 4xx
    error: str | None = None


def next_step(result: AttemptResult, attempts: int, max_attempts: int) -> Next:
    if result.ok:
        return Next.DELIVERED
    if result.permanent or attempts >= max_attempts:
        return Next.FAILED
    return Next.RETRY


def retry_delay(attempt: int, *, initial: float, maximum: float, jitter: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, …): exponential, capped,
    with "equal jitter" — half the step fixed, half random (`jitter` in [0, 1)) — so replicas
    spread their retries yet never retry sooner than half a step."""
    step = min(maximum, initial * 2.0 ** (attempt - 1))
    return step / 2 + step / 2 * jitter


def smtp_code_is_permanent(code: int) -> bool:
    """5xx replies are permanent (RFC 5321); 4xx are transient."""
    return 500 <= code < 600


def http_status_result(status: int) -> AttemptResult:
    """2xx delivered; 408, 425, 429 and 5xx transient; any other status is permanent."""
    if 200 <= status < 300:
        return AttemptResult(ok=True)
    transient = status in (408, 425, 429) or status >= 500
    return AttemptResult(ok=False, permanent=not transient, error=f"HTTP {status}")


# ------------------------------------------------------------------ time-driven notices


@dataclass(frozen=True)
class ReminderDecision:
    send: int | None  # the offset (days before) to remind with now, if any
    passed: list[int] = field(default_factory=list)  # offsets now due too: recorded, not sent


def reminder_due(
    deadline: dt.date, offsets: Iterable[int], *, hour: int, now: dt.datetime, done: set[int]
) -> ReminderDecision:
    """Which reminder before `deadline` is due at `now`. A reminder with `offset` days is due
    from that day at `hour` county time until the deadline's day is over. When several are
    due at once (the service was down, or the phase opened late), only the nearest is sent."""
    if now >= at_county_hour(deadline + dt.timedelta(days=1), 0):
        return ReminderDecision(None)
    due = sorted(
        {
            offset
            for offset in offsets
            if offset not in done
            and now >= at_county_hour(deadline - dt.timedelta(days=offset), hour)
        }
    )
    if not due:
        return ReminderDecision(None)
    return ReminderDecision(due[0], due[1:])


def days_left(deadline: dt.date, now: dt.datetime) -> int:
    return (deadline - county_today(now)).days


def escalation_due_at(deadline: dt.date, escalation_days: int) -> dt.datetime:
    """An overdue task still open this long after it became overdue goes to the parent."""
    return overdue_from(deadline) + dt.timedelta(days=escalation_days)


def escalate_deadlines_before(now: dt.datetime, escalation_days: int) -> dt.date:
    """Open overdue tasks with a deadline before this day are due for escalation at `now`
    (the same instant as `escalation_due_at`, as a bound on the deadline)."""
    return county_today(now) - dt.timedelta(days=escalation_days)


def circular_period(anchor: dt.datetime, now: dt.datetime, period_days: float) -> int:
    """The number of the periodic circular due at `now` (0: none yet). Periods count from
    `anchor`, the moment the campaign's first phase opened."""
    if now <= anchor:
        return 0
    return math.floor((now - anchor) / dt.timedelta(days=period_days))


# ------------------------------------------------------------------ circulars (通报)


class Reason(StrEnum):
    """Why an organisation is lagging; the codes of the reporting API's `lagging` reasons. The
    last two are a superior's (the parent the escalation or the plan went to), not a branch's."""

    TASK_OVERDUE = "task_overdue"
    COMMITMENT_MISSING = "commitment_missing"
    GRADING_INCOMPLETE = "grading_incomplete"
    ESCALATION_UNANSWERED = "escalation_unanswered"
    REVIEW_OVERDUE = "review_overdue"


REASON_ORDER = tuple(Reason)


def escalation_fact_key(branch_id: str, problem_id: str) -> str:
    """The key of a superior's unanswered-escalation fact: the branch and its problem (`|` is
    never in an id)."""
    return f"{branch_id}|{problem_id}"


def review_fact_key(branch_id: str, revision: int) -> str:
    """The key of a superior's overdue-review fact: the branch and the revision waiting."""
    return f"{branch_id}|{revision}"


def answer_due_on(day: dt.date, days: int) -> dt.date:
    """The last day to answer (or review) something received on `day`, `days` days later."""
    return day + dt.timedelta(days=days)


@dataclass(frozen=True)
class LaggingFact:
    branch_id: str  # the lagging organisation: a branch, or a superior for its own reasons
    branch_name: str
    reason: Reason
    fact_key: str  # the task id, the round, branch|problem, branch|revision; "" for a commitment
    detail: Mapping[str, Any]  # what to show: a task's title and deadline, the missing inputs


@dataclass(frozen=True)
class LaggingReason:
    reason: Reason
    details: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class LaggingBranch:
    branch_id: str
    branch_name: str
    reasons: tuple[LaggingReason, ...]


def lagging_branches(facts: Sequence[LaggingFact]) -> list[LaggingBranch]:
    """One line per branch with each of its reasons once and each fact once: the same fact
    reported twice (a re-sent event, an overdue found at close) never names a branch twice.
    Branches with the most facts first, then by id."""
    by_branch: dict[str, dict[Reason, dict[str, Mapping[str, Any]]]] = {}
    names: dict[str, str] = {}
    for fact in facts:
        names.setdefault(fact.branch_id, fact.branch_name)
        reasons = by_branch.setdefault(fact.branch_id, {})
        reasons.setdefault(fact.reason, {}).setdefault(fact.fact_key, fact.detail)
    lines = [
        LaggingBranch(
            branch_id,
            names[branch_id],
            tuple(
                LaggingReason(reason, tuple(d for _, d in sorted(reasons[reason].items())))
                for reason in REASON_ORDER
                if reason in reasons
            ),
        )
        for branch_id, reasons in by_branch.items()
    ]
    weight = {b: sum(len(keys) for keys in r.values()) for b, r in by_branch.items()}
    return sorted(lines, key=lambda line: (-weight[line.branch_id], line.branch_id))


# ------------------------------------------------------------------ commendations (表彰)

ANNOUNCING_KIND = "committee"  # the kind of organisation whose commendations the county hears


def not_registered(org_id: str, county_code: str) -> str:
    """Why an input naming an organisation this county never registered is refused."""
    return (
        f"{org_id} is not a registered organisation of county {county_code}: "
        "register it (org.branch_registered) first"
    )


def unregistered(
    named: Iterable[str], registered_in: Mapping[str, str], county_code: str
) -> list[str]:
    """The refusals for the organisations named (each once, in order) that are not registered
    in the county; `registered_in` maps each registered organisation to its county."""
    return [
        not_registered(org_id, county_code)
        for org_id in dict.fromkeys(named)
        if registered_in.get(org_id) != county_code
    ]


def announced_to_county(awarding_kind: str | None) -> bool:
    """A commendation awarded by a committee is announced to the county (通报表扬); one by a
    general branch, a branch, or by nobody stated is told to the organisation commended."""
    return awarding_kind == ANNOUNCING_KIND
