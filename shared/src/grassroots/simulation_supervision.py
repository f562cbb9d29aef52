"""Supervision in the simulated campaign (督查, 工作进展情况), one county at a time: every
organisation reports its progress to the office every `progress_report_every_days` from the
campaign's first day — most on time, a few late, a few not at all — and the office inspects a
few organisations in each of the middle phases, finding the weakest wanting (most of them put
right by a later inspection) and praising the strongest. Its own random stream, so the other
phases' data do not change with it. Only `grassroots.simulation` calls it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

from grassroots.contract.calendar import DEFAULT_PROGRESS_REPORT_EVERY_DAYS

if TYPE_CHECKING:
    from grassroots.simulation import Action, Branch, County

ON_TIME = 0.93  # a report within its period; then late (after the due date) or never
LATE = 0.04
INSPECTED_PER_PHASE = 0.04  # share of the organisations inspected in each middle phase
PUT_RIGHT = 0.75  # a criticised organisation re-inspected and found put right
INSPECTORS = ("张卫东", "刘芳", "王志强", "李红梅")
CHECKED = {
    "rectification": "整改方案落实情况、整改台账、公开承诺践诺记录",
    "emulation": "“四个一”活动开展情况、结对共建和在职党员进村入户记录",
}
CRITICISMS = (
    ("leadership_attention", "支部书记未按期主持研究整改工作，第一责任人职责落实不到位。"),
    ("ineffective_measures", "整改措施笼统，未明确时限和责任人，整改台账不全。"),
    ("lagging", "整改进度明显滞后，多项任务未按期推进。"),
)
PRAISE = "工作扎实，台账规范，整改成效明显，值得肯定。"
PUT_RIGHT_TEXT = "前次督查指出的问题已整改到位，工作明显改进，值得肯定。"


def county_supervision(
    seed: int,
    index: int,
    place: County,
    windows: list[dict[str, str]],
) -> Iterator[Action]:
    """The county's progress reports and inspections over the campaign, in no particular
    order of days (the caller merges them into each phase by day)."""
    rng = random.Random(f"{seed}:supervision:{place.code}")
    first = dt.date.fromisoformat(windows[0]["opens_on"])
    last = dt.date.fromisoformat(windows[-1]["closes_on"])
    every = DEFAULT_PROGRESS_REPORT_EVERY_DAYS
    graded = list(place.branches)
    due = first + dt.timedelta(days=every)
    while due <= last:
        for branch in graded:
            draw = rng.random() - (branch.quality - 80) / 200
            if draw < ON_TIME:
                day = due - dt.timedelta(days=rng.randint(0, 3))
            elif draw < ON_TIME + LATE:
                day = min(last, due + dt.timedelta(days=rng.randint(1, 4)))
            else:
                continue
            yield (
                day,
                index,
                "supervision.progress_reported",
                {
                    "org_id": branch.branch_id,
                    "reported_on": day.isoformat(),
                    "summary": _summary(rng, due),
                },
            )
        due += dt.timedelta(days=every)
    for window in windows:
        if window["phase"] in CHECKED:
            yield from _inspections(rng, index, place, graded, window)


def _summary(rng: random.Random, due: dt.date) -> str:
    done = rng.randint(1, 4)
    return f"截至{due.month}月{due.day}日，本期完成重点工作{done}项，其余按计划推进。"


def _inspections(
    rng: random.Random,
    index: int,
    place: County,
    graded: list[Branch],
    window: dict[str, str],
) -> Iterator[Action]:
    opens = dt.date.fromisoformat(window["opens_on"])
    closes = dt.date.fromisoformat(window["closes_on"])
    phase = window["phase"]
    count = max(2, round(len(graded) * INSPECTED_PER_PHASE))
    ranked = sorted(graded, key=lambda b: (b.quality + rng.gauss(0, 6), b.branch_id))
    weakest, strongest = ranked[: count // 2], ranked[-(count - count // 2) :]
    span = max(1, (closes - opens).days // 2)
    for number, branch in enumerate(weakest + strongest):
        day = opens + dt.timedelta(days=rng.randint(7, 7 + span // 2))
        criticised = branch in weakest
        kind, text = rng.choice(CRITICISMS) if criticised else ("commendable", PRAISE)
        yield _inspection(rng, index, place, branch, phase, number, day, kind, text, "scheduled")
        if criticised and rng.random() < PUT_RIGHT:
            again = min(closes, day + dt.timedelta(days=rng.randint(14, 21)))
            yield _inspection(
                rng,
                index,
                place,
                branch,
                phase,
                number + 100,
                again,
                "commendable",
                PUT_RIGHT_TEXT,
                "unannounced",
            )


def _inspection(
    rng: random.Random,
    index: int,
    place: County,
    branch: Branch,
    phase: str,
    number: int,
    day: dt.date,
    kind: str,
    text: str,
    mode: str,
) -> Action:
    return (
        day,
        index,
        "supervision.inspected",
        {
            "inspection_id": f"insp-{place.code}-{phase}-{number:03d}",
            "org_id": branch.branch_id,
            "mode": mode,
            "inspected_on": day.isoformat(),
            "inspectors": rng.sample(INSPECTORS, 2),
            "checked": CHECKED[phase],
            "findings": [{"kind": kind, "text": text}],
        },
    )
