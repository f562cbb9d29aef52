"""A seeded campaign generator: the same seed gives the same events, ids included.

One campaign per county, N counties × M organisations, through the four phases on one
calendar: registrations (the committee; every third township's central school a general branch
over its primary schools and kindergartens; the other schools' branches) and launch; the
initial round's three inputs (a few missing, overridden or vetoed); problems, public
commitments with tasks, plans returned and re-published, progress, completions — on time, late,
or never — and commitments that come late or not at all; late grading inputs; phase 3's
activities, commendations, publicity and learning meetings (`simulation_emulation`); phase 4's
summary reviews, the committee's assessments, 三级联述联评联考 and standing rules
(`simulation_assessment`), and the final round; every phase opened and closed. Events come in
calendar order (day by day), so a driver can move the services' clock along with them; per
organisation they come in causal order, after its registration.

Used by `grassroots demo` (one county, Pucheng's townships and schools, all four phases),
`grassroots simulate` (any size, published at a target rate) and the benchmark (`bench/`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import heapq
import itertools
import random
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from grassroots.contract.common import LEVEL_ORDER, PHASE_ORDER, Level, Phase
from grassroots.contract.examples import CST
from grassroots.contract.registry import EVENTS
from grassroots.simulation_assessment import county_assessment
from grassroots.simulation_emulation import county_emulation
from grassroots.simulation_supervision import county_supervision

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
# Schools a township's central school (中心学校) leads where it has a general branch (党总支).
LED_BY_CENTRAL_SCHOOL = frozenset({"中心小学", "小学", "中心幼儿园"})
CENTRAL_SCHOOL = "中心学校"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = ("建国", "秀英", "志强", "丽华", "文博", "海燕", "军", "红梅", "卫东", "晓明", "静", "国庆")
PROBLEMS = (
    "组织生活不够规范",
    "党员发挥作用不明显",
    "制度落实不到位",
    "党员活动阵地设施陈旧",
    "群众反映服务意识不强",
)
CRITERIA = ("leadership", "membership", "mechanism", "performance", "reputation")
# The default grading rules (DOMAIN.md), to tell which level a branch starts from.
DEFAULT_WEIGHTS = {"self": 0.2, "appraisal": 0.3, "superior": 0.5}
DEFAULT_THRESHOLDS = ((Level.STRONG, 90.0), (Level.FAIRLY_STRONG, 80.0), (Level.AVERAGE, 60.0))
DEFAULT_FLOOR = 60.0
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


@dataclass(frozen=True)
class Branch:
    """An organisation graded in the campaign: a branch (党支部) or a general branch (党总支)."""

    branch_id: str
    name: str
    unit: str
    township: str
    secretary: str
    quality: float  # the branch's underlying strength, 0–100
    school: str  # the kind of school: 中学 … 中心幼儿园, or 中心学校 for a general branch
    parent_id: str  # the committee, or the township's general branch
    kind: str = "branch"  # or general_branch


@dataclass
class History:
    """What an organisation did in the earlier phases, so that the later ones fit it."""

    member_count: int = 0
    initial_level: Level | None = None  # as the default rules grade its initial inputs
    problems: int = 0
    commitment: str = "none"  # on_time, late or none
    tasks: int = 0
    completed: int = 0  # tasks completed before rectification closed
    target_level: Level | None = None  # 争先进位目标, set at its learning meeting
    activities: set[str] = field(default_factory=set)

    @property
    def completion(self) -> float:
        return self.completed / self.tasks if self.tasks else 0.0


@dataclass
class County:
    code: str
    name: str
    campaign_id: str
    committee_id: str
    source: str
    secretary: str = "局党委书记"  # the committee's secretary (局党委书记), by name
    branches: list[Branch] = field(default_factory=list)
    counter: int = 0

    @property
    def committee_name(self) -> str:
        return f"中共{self.name}教育局委员会"

    def children(self, parent_id: str) -> list[Branch]:
        return [branch for branch in self.branches if branch.parent_id == parent_id]


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
            place.branches = self._organisations(place, branches, width)
            place.secretary = self._person()
        # What each organisation did so far, filled in as actions() goes (by branch_id).
        self.history: dict[str, History] = {}
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

    def _organisations(self, place: County, count: int, width: int) -> list[Branch]:
        """The county's graded organisations, in registration order: in every third township
        the first one is the central school's general branch, over the township's primary
        schools and kindergartens (when it has any); every other one is under the committee."""
        drawn = [self._branch(place, index, width) for index in range(1, count + 1)]
        general: dict[str, Branch] = {}
        parents: dict[str, str] = {}
        for township in TOWNSHIPS[1::3]:
            here = [branch for branch in drawn if branch.township == township]
            led = [branch for branch in here[1:] if branch.school in LED_BY_CENTRAL_SCHOOL]
            if not led:
                continue
            head = here[0]
            unit = f"{place.name}{township}{CENTRAL_SCHOOL}"
            general[head.branch_id] = dataclasses.replace(
                head, name=f"{unit}党总支", unit=unit, school=CENTRAL_SCHOOL, kind="general_branch"
            )
            parents.update((branch.branch_id, head.branch_id) for branch in led)
        return [
            general.get(branch.branch_id)
            or dataclasses.replace(
                branch, parent_id=parents.get(branch.branch_id, branch.parent_id)
            )
            for branch in drawn
        ]

    def _branch(self, place: County, index: int, width: int) -> Branch:
        township = TOWNSHIPS[(index - 1) % len(TOWNSHIPS)]
        school = self.rng.choice(SCHOOL_KINDS)
        unit = f"{place.name}{_town(township)}{school}"
        secretary = self._person()
        quality = min(99.0, max(40.0, self.rng.gauss(80, 9)))
        return Branch(
            f"{place.code}-edu-{index:0{width}d}",
            f"{unit}党支部",
            unit,
            township,
            secretary,
            quality,
            school,
            place.committee_id,
        )

    def _person(self) -> str:
        """A realistic Chinese name."""
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)

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
        self, *, until: Phase = Phase.ASSESSMENT, close_last: bool | None = None
    ) -> Iterator[dict[str, Any]]:
        """Registrations and launch, then each phase up to `until` (closed if close_last; by
        default only the last of all, assessment). The default is the whole campaign with every
        phase closed: the demo's."""
        for day, county_index, event_type, data in self.actions(until=until, close_last=close_last):
            yield self._event(self.counties[county_index], event_type, data, day)

    def count(self, *, until: Phase = Phase.ASSESSMENT, close_last: bool | None = None) -> int:
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
        self, *, until: Phase = Phase.ASSESSMENT, close_last: bool | None = None
    ) -> Iterator[Action]:
        """What happens, in calendar order: (day, county index, event type, data)."""
        if close_last is None:  # a campaign stopped in a phase is in the middle of it
            close_last = until is Phase.ASSESSMENT
        self.rng.setstate(self._start)
        self.history = {}
        for place in self.counties:
            place.counter = 0
        start = dt.date(self.year, 3, 1)
        yield from self._registrations(start)
        last = PHASE_ORDER.index(until)
        windows = self.windows()
        supervision = sorted(
            (
                action
                for index, place in enumerate(self.counties)
                for action in county_supervision(self.seed, index, place, windows)
            ),
            key=lambda action: action[0],
        )
        for position, phase in enumerate(PHASE_ORDER[: last + 1]):
            opens = dt.date.fromisoformat(windows[position]["opens_on"])
            closes = dt.date.fromisoformat(windows[position]["closes_on"])
            yield from self._each_county(
                opens, "campaign.phase_opened", lambda c, p=phase: self._phase(c, p)
            )
            if phase is Phase.SURVEY_GRADING:
                work = self._grading_inputs("initial", opens + dt.timedelta(days=20))
            elif phase is Phase.RECTIFICATION:
                work = self._rectification(opens, closes)
            elif phase is Phase.EMULATION:
                work = self._emulation(opens, closes)
            else:
                work = self._assessment(opens, closes)
            # Progress reports and inspections of the phase's days, in calendar order with it.
            during = [a for a in supervision if opens <= a[0] <= closes]
            yield from heapq.merge(work, during, key=lambda action: action[0])
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
                    "name": place.committee_name,
                    "kind": "committee",
                    "unit": f"{place.name}教育局",
                    "secretary": {"name": place.secretary},
                    "member_count": 15,
                },
            )
            for branch in place.branches:
                history = self.history[branch.branch_id] = History()
                history.member_count = self.rng.randint(5, 60)
                if branch.kind == "general_branch":  # its own members; its branches' are theirs
                    history.member_count += 20
                yield (
                    start,
                    index,
                    "org.branch_registered",
                    {
                        "branch_id": branch.branch_id,
                        "name": branch.name,
                        "kind": branch.kind,
                        "parent_id": branch.parent_id,
                        "unit": branch.unit,
                        "township": branch.township,
                        "secretary": {
                            "name": branch.secretary,
                            "email": f"{branch.branch_id}@schools.example.org",
                        },
                        "member_count": history.member_count,
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
        sent: dict[str, dict[str, Any]] = {}
        if "self" in kinds:
            data: dict[str, Any] = {**base, "scores": self._scores(quality + 4, 4)}
            yield "grading.self_evaluated", data
            if only is None and self.rng.random() < RESENT_INPUT:  # corrected, sent again
                data = {**data, "scores": self._scores(quality + 2, 4)}
                yield "grading.self_evaluated", data
            sent["self"] = data
        if "appraisal" in kinds:
            sent["appraisal"] = {
                **base,
                "raters": self.rng.randint(8, 80),
                "scores": self._scores(quality, 5),
            }
            yield "grading.appraised", sent["appraisal"]
        if "superior" in kinds:
            rated: dict[str, Any] = {
                **base,
                "rater_org_id": branch.parent_id,
                "scores": self._scores(quality, 3),
            }
            draw = self.rng.random()
            if draw < VETO:
                rated["veto_reason"] = "班子成员违纪受到处分"
            elif draw < VETO + OVERRIDE:
                rated["override_level"] = self.rng.choice(["strong", "average"])
                rated["override_reason"] = "上级党组织综合考察意见"
            sent["superior"] = rated
            yield "grading.superior_rated", rated
        if round_ == "initial" and only is None:
            self.history[branch.branch_id].initial_level = _level_by_default_rules(sent)

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
        history = self.history[branch.branch_id]
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
        history.problems = len(problems)
        if rng.random() < LATE_INPUT:  # the initial round closed already: kept, not applied
            for event_type, data in self._branch_inputs(place, branch, "initial", only="self"):
                yield opens + days(10), index, event_type, data
        fate = rng.random()
        if fate < NO_COMMITMENT:
            return
        late = fate < NO_COMMITMENT + LATE_COMMITMENT
        history.commitment = "late" if late else "on_time"
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
        history.tasks = len(tasks)
        commitment: dict[str, Any] = {
            "branch_id": branch.branch_id,
            "commitment_id": f"{branch.branch_id}-c",
            "revision": 1,
            "tasks": tasks,
        }
        review = {
            "branch_id": branch.branch_id,
            "commitment_id": commitment["commitment_id"],
            "reviewer_org_id": branch.parent_id,
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
                history.completed += 1
                yield (
                    finished,
                    index,
                    "rectification.task_completed",
                    {**ref, "evidence": "整改台账及验收记录"},
                )

    def _emulation(self, opens: dt.date, closes: dt.date) -> Iterator[Action]:
        """Each county's phase 3 (simulation_emulation), sorted by day."""
        days: dict[dt.date, list[Action]] = defaultdict(list)
        for index, place in enumerate(self.counties):
            for action in county_emulation(
                self.rng,
                index,
                place,
                self.history,
                opens=opens,
                closes=closes,
                person=self._person,
            ):
                days[action[0]].append(action)
        for day in sorted(days):
            yield from days.pop(day)

    def _assessment(self, opens: dt.date, closes: dt.date) -> Iterator[Action]:
        """Each county's phase 4 (simulation_assessment) and the final round, sorted by day."""
        days: dict[dt.date, list[Action]] = defaultdict(list)
        for index, place in enumerate(self.counties):
            for action in county_assessment(
                self.rng, index, place, self.history, opens=opens, closes=closes, year=self.year
            ):
                days[action[0]].append(action)
        for action in self._grading_inputs("final", closes - dt.timedelta(days=5)):
            days[action[0]].append(action)
        for day in sorted(days):
            yield from days.pop(day)


def _town(township: str) -> str:
    return township.removesuffix("镇").removesuffix("街道")


def _level_by_default_rules(sent: dict[str, dict[str, Any]]) -> Level | None:
    """The level the default rules give these inputs (None when one is missing): a superior's
    veto or override first, then the weighted total's threshold and the criterion floor."""
    superior = sent.get("superior", {})
    if superior.get("veto_reason"):
        return Level.WEAK
    if superior.get("override_level"):
        return Level(superior["override_level"])
    if set(sent) != set(DEFAULT_WEIGHTS):
        return None
    criteria = [
        sum(weight * sent[source]["scores"][c] for source, weight in DEFAULT_WEIGHTS.items())
        for c in CRITERIA
    ]
    total = sum(criteria) / len(criteria)
    level = next((level for level, lowest in DEFAULT_THRESHOLDS if total >= lowest), Level.WEAK)
    if min(criteria) < DEFAULT_FLOOR and LEVEL_ORDER.index(level) < LEVEL_ORDER.index(
        Level.AVERAGE
    ):
        return Level.AVERAGE
    return level


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
