"""A seeded campaign generator: the same seed gives the same events, ids included.

One campaign per county, N counties × M branches, through the four phases on one calendar:
registrations and launch; the initial round's three inputs (a few missing, overridden or
vetoed); problems, public commitments with tasks, plans returned and re-published, progress,
completions — on time, late, or never — and commitments that come late or not at all; late
grading inputs; activities and commendations; summary reviews and the final round; every
phase opened and closed. Events come in calendar order (day by day), so a driver can move the
services' clock along with them; per branch they come in causal order.

Used by `grassroots demo` (one county, Pucheng's townships and schools, up to rectification),
`grassroots simulate` (any size, published at a target rate) and the benchmark (`bench/`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from grassroots.contract.common import PHASE_ORDER, Phase
from grassroots.contract.examples import CST
from grassroots.contract.registry import EVENTS

TOWNSHIPS = (
    "城关街道",
    "东杨镇",
    "椿林镇",
    "孙镇",
    "兴镇",
    "党睦镇",
    "高阳镇",
    "永丰镇",
    "荆姚镇",
    "苏坊镇",
    "龙阳镇",
    "洛滨镇",
    "陈庄镇",
    "桥陵镇",
    "尧山镇",
    "龙池镇",
    "罕井镇",
    "贾曲镇",
)
COUNTY_NAMES = ("蒲城县", "大荔县", "富平县", "澄城县", "白水县", "合阳县", "潼关县", "华州区")
SCHOOL_KINDS = ("中学", "初级中学", "中心小学", "小学", "中心幼儿园")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = ("建国", "秀英", "志强", "丽华", "文博", "海燕", "军", "红梅", "卫东", "晓明", "静", "国庆")
PROBLEMS = (
    "组织生活不够规范",
    "党员发挥作用不明显",
    "制度落实不到位",
    "党员活动阵地设施陈旧",
    "群众反映服务意识不强",
)
ACTIVITIES = (
    ("themed_activity", "“五个好”主题党日"),
    ("innovation_measure", "党建工作创新举措"),
    ("pairing", "城乡学校党支部结对共建"),
    ("village_visit", "在职党员进村入户"),
    ("double_help", "党员“双帮”活动"),
)
CRITERIA = ("leadership", "membership", "mechanism", "performance", "reputation")
T = TypeVar("T")
NAMESPACE = uuid.UUID("5b0c4c1e-9f1d-4b7e-9a8e-6d2a3f0b7c11")

# How often the imperfect things happen (shares of branches, or of tasks).
MISSING_INPUT = 0.03  # a branch misses one of the three grading inputs of a round
OVERRIDE = 0.01  # the superior overrides the computed level, with a reason
VETO = 0.005  # 一票否决
RESENT_INPUT = 0.02  # an input sent again, corrected (the later one replaces it)
LATE_INPUT = 0.005  # an initial-round input arrives after the round closed
NO_COMMITMENT = 0.08
LATE_COMMITMENT = 0.05  # published after it was due (commitment_missing may name it first)
RETURNED = 0.10  # the superior returns the plan; the branch publishes revision 2
NEEDS_SUPERIOR = 0.15
TASK_ON_TIME = 0.75  # completed before its deadline
TASK_LATE = 0.10  # completed after its deadline (overdue first); the rest never complete
COMMENDED = 0.05  # advanced organisation
MEMBER_COMMENDED = 0.05  # an excellent member


@dataclass(frozen=True)
class Branch:
    branch_id: str
    name: str
    unit: str
    township: str
    secretary: str
    quality: float  # the branch's underlying strength, 0–100


@dataclass
class County:
    code: str
    name: str
    campaign_id: str
    committee_id: str
    source: str
    branches: list[Branch] = field(default_factory=list)
    counter: int = 0


# One thing to publish, before it becomes an event: (day, county, type, data).
Action = tuple[dt.date, int, str, dict[str, Any]]


class CampaignSimulation:
    """Generates a campaign for `counties` counties of `branches` branches each."""

    def __init__(
        self,
        *,
        seed: int = 2012,
        county: str = "610526",
        branches: int = 150,
        campaign_id: str = "pucheng-edu-2012",
        year: int = 2012,
        counties: int = 1,
    ) -> None:
        if branches < 1 or counties < 1:
            raise ValueError("at least one county of at least one branch")
        if int(county) + counties > 999_999:
            raise ValueError("county codes would overflow six digits")
        self.rng = random.Random(seed)
        self.seed = seed
        self.year = year
        self.branches_per_county = branches
        width = max(4, len(str(branches)))
        self.counties: list[County] = []
        for number in range(counties):
            code = f"{int(county) + number:06d}"
            name = COUNTY_NAMES[number % len(COUNTY_NAMES)]
            if number >= len(COUNTY_NAMES):
                name = (
                    f"{name.removesuffix('县').removesuffix('区')}{number // len(COUNTY_NAMES)}县"
                )
            self.counties.append(
                County(
                    code=code,
                    name=name,
                    campaign_id=campaign_id if number == 0 else f"edu-{code}-{year}",
                    committee_id=f"{code}-edu-committee",
                    source=f"/counties/{code}/edu-office",
                )
            )
        for place in self.counties:
            place.branches = [self._branch(place, index, width) for index in range(1, branches + 1)]
        # Every run of actions() starts from here, so events() and count() repeat themselves.
        self._start = self.rng.getstate()

    # The first county, as `grassroots demo` and its callers know it.
    @property
    def county(self) -> str:
        return self.counties[0].code

    @property
    def campaign_id(self) -> str:
        return self.counties[0].campaign_id

    @property
    def committee_id(self) -> str:
        return self.counties[0].committee_id

    @property
    def branches(self) -> list[Branch]:
        return self.counties[0].branches

    def _branch(self, place: County, index: int, width: int) -> Branch:
        township = TOWNSHIPS[(index - 1) % len(TOWNSHIPS)]
        town = township.removesuffix("镇").removesuffix("街道")
        unit = f"{place.name}{town}{self.rng.choice(SCHOOL_KINDS)}"
        secretary = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
        quality = min(99.0, max(40.0, self.rng.gauss(80, 9)))
        return Branch(
            f"{place.code}-edu-{index:0{width}d}",
            f"{unit}党支部",
            unit,
            township,
            secretary,
            quality,
        )

    def windows(self) -> list[dict[str, str]]:
        y = self.year
        return [
            {"phase": "survey_grading", "opens_on": f"{y}-03-01", "closes_on": f"{y}-04-15"},
            {"phase": "rectification", "opens_on": f"{y}-04-16", "closes_on": f"{y}-06-30"},
            {"phase": "emulation", "opens_on": f"{y}-07-01", "closes_on": f"{y}-08-15"},
            {"phase": "assessment", "opens_on": f"{y}-08-16", "closes_on": f"{y}-09-30"},
        ]

    # ------------------------------------------------------------------ events

    def events(
        self, *, until: Phase = Phase.RECTIFICATION, close_last: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Registrations and launch, then each phase up to `until` (closed if close_last)."""
        for day, county_index, event_type, data in self.actions(until=until, close_last=close_last):
            yield self._event(self.counties[county_index], event_type, data, day)

    def count(self, *, until: Phase = Phase.RECTIFICATION, close_last: bool = False) -> int:
        """How many events `events()` yields with these arguments (without building them)."""
        return sum(1 for _ in self.actions(until=until, close_last=close_last))

    def _event(
        self, place: County, event_type: str, data: dict[str, Any], day: dt.date
    ) -> dict[str, Any]:
        place.counter += 1
        spec = EVENTS[event_type]
        event_id = uuid.uuid5(NAMESPACE, f"{self.seed}:{place.campaign_id}:{place.counter}")
        # Office hours of that day, one second apart: ids and times never depend on the clock.
        when = dt.datetime.combine(day, dt.time(9, 0), tzinfo=CST) + dt.timedelta(
            seconds=place.counter % 32_400
        )
        event: dict[str, Any] = {
            "specversion": "1.0",
            "id": str(event_id),
            "source": place.source,
            "type": event_type,
            "time": when.isoformat(),
            "subject": data[spec.envelope_model.subject_field],
            "countycode": place.code,
            "datacontenttype": "application/json",
            "data": data,
        }
        if spec.envelope_model.campaign_scoped:
            event["campaignid"] = place.campaign_id
        return event

    # ------------------------------------------------------------------ actions

    def actions(
        self, *, until: Phase = Phase.RECTIFICATION, close_last: bool = False
    ) -> Iterator[Action]:
        """What happens, in calendar order: (day, county index, event type, data)."""
        self.rng.setstate(self._start)
        for place in self.counties:
            place.counter = 0
        start = dt.date(self.year, 3, 1)
        yield from self._registrations(start)
        last = PHASE_ORDER.index(until)
        windows = self.windows()
        for position, phase in enumerate(PHASE_ORDER[: last + 1]):
            opens = dt.date.fromisoformat(windows[position]["opens_on"])
            closes = dt.date.fromisoformat(windows[position]["closes_on"])
            yield from self._each_county(
                opens, "campaign.phase_opened", lambda c, p=phase: self._phase(c, p)
            )
            if phase is Phase.SURVEY_GRADING:
                yield from self._grading_inputs("initial", opens + dt.timedelta(days=20))
            elif phase is Phase.RECTIFICATION:
                yield from self._rectification(opens, closes)
            elif phase is Phase.EMULATION:
                yield from self._emulation(opens, closes)
            elif phase is Phase.ASSESSMENT:
                yield from self._assessment(opens, closes)
            if position < last or close_last:
                yield from self._each_county(
                    closes, "campaign.phase_closed", lambda c, p=phase: self._phase(c, p)
                )

    def _phase(self, place: County, phase: Phase) -> dict[str, Any]:
        return {"campaign_id": place.campaign_id, "phase": phase.value}

    def _each_county(self, day: dt.date, event_type: str, data: Any) -> Iterator[Action]:
        for index, place in enumerate(self.counties):
            yield day, index, event_type, data(place)

    def _registrations(self, start: dt.date) -> Iterator[Action]:
        for index, place in enumerate(self.counties):
            yield (
                start,
                index,
                "org.branch_registered",
                {
                    "branch_id": place.committee_id,
                    "name": f"中共{place.name}教育局委员会",
                    "kind": "committee",
                    "unit": f"{place.name}教育局",
                    "secretary": {"name": "局党委书记"},
                    "member_count": 15,
                },
            )
            for branch in place.branches:
                yield (
                    start,
                    index,
                    "org.branch_registered",
                    {
                        "branch_id": branch.branch_id,
                        "name": branch.name,
                        "kind": "branch",
                        "parent_id": place.committee_id,
                        "unit": branch.unit,
                        "township": branch.township,
                        "secretary": {
                            "name": branch.secretary,
                            "email": f"{branch.branch_id}@schools.example.org",
                        },
                        "member_count": self.rng.randint(5, 60),
                    },
                )
            yield (
                start,
                index,
                "campaign.launched",
                {
                    "campaign_id": place.campaign_id,
                    "name": f"{place.name}教育系统基层组织建设年",
                    "year": self.year,
                    "phases": self.windows(),
                },
            )

    def _scores(self, quality: float, spread: float) -> dict[str, float]:
        return {
            criterion: round(min(100.0, max(0.0, self.rng.gauss(quality, spread))), 1)
            for criterion in CRITERIA
        }

    def _grading_inputs(self, round_: str, day: dt.date) -> Iterator[Action]:
        for index, place in enumerate(self.counties):
            for branch in place.branches:
                yield from (
                    (day, index, event_type, data)
                    for event_type, data in self._branch_inputs(place, branch, round_)
                )

    def _branch_inputs(
        self, place: County, branch: Branch, round_: str, *, only: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        quality = branch.quality + (3 if round_ == "final" else 0)
        kinds = [only] if only else ["self", "appraisal", "superior"]
        if only is None and self.rng.random() < MISSING_INPUT:  # a few branches miss one
            kinds.remove(self.rng.choice(kinds))
        base = {"branch_id": branch.branch_id, "round": round_}
        if "self" in kinds:
            data: dict[str, Any] = {**base, "scores": self._scores(quality + 4, 4)}
            yield "grading.self_evaluated", data
            if only is None and self.rng.random() < RESENT_INPUT:  # corrected, sent again
                yield "grading.self_evaluated", {**data, "scores": self._scores(quality + 2, 4)}
        if "appraisal" in kinds:
            yield (
                "grading.appraised",
                {**base, "raters": self.rng.randint(8, 80), "scores": self._scores(quality, 5)},
            )
        if "superior" in kinds:
            rated: dict[str, Any] = {
                **base,
                "rater_org_id": place.committee_id,
                "scores": self._scores(quality, 3),
            }
            draw = self.rng.random()
            if draw < VETO:
                rated["veto_reason"] = "班子成员违纪受到处分"
            elif draw < VETO + OVERRIDE:
                rated["override_level"] = self.rng.choice(["strong", "average"])
                rated["override_reason"] = "上级党组织综合考察意见"
            yield "grading.superior_rated", rated

    def _rectification(self, opens: dt.date, closes: dt.date) -> Iterator[Action]:
        """Problems, commitments, reviews, progress and completion, sorted by day."""
        days: dict[dt.date, list[Action]] = defaultdict(list)
        due = opens + dt.timedelta(days=15)  # the default commitment_due_days
        for index, place in enumerate(self.counties):
            for branch in place.branches:
                for action in self._branch_rectification(index, place, branch, opens, closes, due):
                    days[action[0]].append(action)
        for day in sorted(days):
            yield from days.pop(day)

    def _branch_rectification(
        self,
        index: int,
        place: County,
        branch: Branch,
        opens: dt.date,
        closes: dt.date,
        due: dt.date,
    ) -> Iterator[Action]:
        rng = self.rng
        days = dt.timedelta
        problems = []
        for number in range(1, rng.randint(2, 4) + 1):
            problem_id = f"{branch.branch_id}-p{number}"
            problems.append(problem_id)
            yield (
                opens + days(3),
                index,
                "rectification.problem_listed",
                {
                    "branch_id": branch.branch_id,
                    "problem_id": problem_id,
                    "description": rng.choice(PROBLEMS),
                    "source": rng.choice(["survey", "members", "public", "self"]),
                    "needs_superior": rng.random() < NEEDS_SUPERIOR,
                },
            )
        if rng.random() < LATE_INPUT:  # the initial round closed already: kept, not applied
            for event_type, data in self._branch_inputs(place, branch, "initial", only="self"):
                yield opens + days(10), index, event_type, data
        fate = rng.random()
        if fate < NO_COMMITMENT:
            return
        late = fate < NO_COMMITMENT + LATE_COMMITMENT
        published = due + days(rng.randint(3, 12)) if late else opens + days(10)
        tasks = [
            {
                "task_id": f"{problem_id}-t1",
                "problem_id": problem_id,
                "title": "整改：" + problem_id.rsplit("-", 1)[1],
                "responsible": branch.secretary,
                "requirement": "按期整改到位",
                "measures": "制定方案、明确分工、定期督查",
                "deadline": (published + days(rng.randint(14, 60))).isoformat(),
                "kind": rng.choice(["immediate", "gradual"]),
            }
            for problem_id in problems
        ]
        commitment: dict[str, Any] = {
            "branch_id": branch.branch_id,
            "commitment_id": f"{branch.branch_id}-c",
            "revision": 1,
            "tasks": tasks,
        }
        review = {
            "branch_id": branch.branch_id,
            "commitment_id": commitment["commitment_id"],
            "reviewer_org_id": place.committee_id,
        }
        yield published, index, "rectification.commitment_published", commitment
        approved_on = published + days(2)
        if rng.random() < RETURNED:
            yield (
                published + days(2),
                index,
                "rectification.commitment_reviewed",
                {**review, "revision": 1, "decision": "returned", "guidance": "整改措施需更具体"},
            )
            commitment = {**commitment, "revision": 2}
            yield published + days(5), index, "rectification.commitment_published", commitment
            approved_on = published + days(7)
        yield (
            approved_on,
            index,
            "rectification.commitment_reviewed",
            {**review, "revision": commitment["revision"], "decision": "approved"},
        )
        for task in tasks:
            deadline = dt.date.fromisoformat(task["deadline"])
            ref = {"branch_id": branch.branch_id, "task_id": task["task_id"]}
            span = (deadline - approved_on).days
            percent = 0
            last = approved_on
            for step in range(1, rng.randint(1, 3) + 1):  # progress, on the way
                percent = min(90, percent + rng.randint(20, 40))
                when = max(last + days(1), approved_on + days(span * step // 4))
                if when >= closes:
                    break
                last = when
                yield when, index, "rectification.task_progressed", {**ref, "percent": percent}
                if rng.random() < 0.03:  # a step back, said why
                    last = when + days(1)
                    yield (
                        last,
                        index,
                        "rectification.task_progressed",
                        {**ref, "percent": percent - 10, "note": "验收发现问题，部分返工"},
                    )
                    percent -= 10
            fate = rng.random()
            if fate < TASK_ON_TIME:
                finished = deadline - days(rng.randint(0, 3))
            elif fate < TASK_ON_TIME + TASK_LATE:
                finished = deadline + days(rng.randint(2, 12))
            else:
                continue
            finished = max(finished, last + days(1))
            if finished < closes:
                yield (
                    finished,
                    index,
                    "rectification.task_completed",
                    {**ref, "evidence": "整改台账及验收记录"},
                )

    def _emulation(self, opens: dt.date, closes: dt.date) -> Iterator[Action]:
        days: dict[dt.date, list[Action]] = defaultdict(list)
        span = (closes - opens).days
        for index, place in enumerate(self.counties):
            for branch in place.branches:
                for _ in range(self.rng.randint(1, 3)):
                    kind, title = self.rng.choice(ACTIVITIES)
                    held = opens + dt.timedelta(days=self.rng.randint(0, span - 5))
                    days[held + dt.timedelta(days=1)].append(
                        (
                            held + dt.timedelta(days=1),
                            index,
                            "emulation.activity_reported",
                            {
                                "branch_id": branch.branch_id,
                                "kind": kind,
                                "title": title,
                                "held_on": held.isoformat(),
                            },
                        )
                    )
                honoured = closes - dt.timedelta(days=3)
                if self.rng.random() < COMMENDED + branch.quality / 5000:
                    days[honoured].append(
                        (
                            honoured,
                            index,
                            "emulation.commended",
                            {
                                "branch_id": branch.branch_id,
                                "honour": "advanced_organization",
                                "title": "先进基层党组织",
                            },
                        )
                    )
                if self.rng.random() < MEMBER_COMMENDED:
                    days[honoured].append(
                        (
                            honoured,
                            index,
                            "emulation.commended",
                            {
                                "branch_id": branch.branch_id,
                                "honour": "excellent_member",
                                "title": "优秀共产党员",
                                "member_name": self.rng.choice(SURNAMES) + self.rng.choice(GIVEN),
                            },
                        )
                    )
        for day in sorted(days):
            yield from days.pop(day)

    def _assessment(self, opens: dt.date, closes: dt.date) -> Iterator[Action]:
        reviewed = opens + dt.timedelta(days=20)
        for index, place in enumerate(self.counties):
            for branch in place.branches:
                score = round(min(100.0, max(0.0, self.rng.gauss(branch.quality + 2, 5))), 1)
                yield (
                    reviewed,
                    index,
                    "assessment.branch_reviewed",
                    {
                        "branch_id": branch.branch_id,
                        "score": score,
                        "process_solid": score >= 70,
                        "problems_solved": score >= 75 or self.rng.random() < 0.5,
                        "advance_visible": score >= 80,
                    },
                )
        yield from self._grading_inputs("final", closes - dt.timedelta(days=5))


async def paced(items: Iterable[T], rate: float, *, tick: float = 0.005) -> AsyncIterator[list[T]]:
    """Chunks of `items` on a schedule of `rate` per second (0: as fast as they come).

    Open loop: the schedule is fixed from the start, so a slow consumer of the chunks is not
    given a gentler rate — it falls behind, and the next chunks are bigger.
    """
    iterator = iter(items)
    if rate <= 0:
        while chunk := list(itertools.islice(iterator, 1000)):
            yield chunk
        return
    started = time.perf_counter()
    sent = 0
    while True:
        due = int((time.perf_counter() - started) * rate) + 1
        chunk = list(itertools.islice(iterator, max(0, due - sent)))
        if chunk:
            sent += len(chunk)
            yield chunk
        elif due > sent:
            return  # the items ran out
        await asyncio.sleep(max(0.0, started + sent / rate - time.perf_counter(), tick))
