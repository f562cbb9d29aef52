"""A seeded campaign generator: the same seed gives the same events, ids included.

Used by `grassroots demo` (one county, Pucheng's townships and schools) and by tests.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from grassroots.contract.common import PHASE_ORDER, Phase
from grassroots.contract.examples import CST, envelope

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
SCHOOL_KINDS = ("中学", "初级中学", "中心小学", "小学", "中心幼儿园")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = ("建国", "秀英", "志强", "丽华", "文博", "海燕", "军", "红梅", "卫东", "晓明", "静", "国庆")
NAMESPACE = uuid.UUID("5b0c4c1e-9f1d-4b7e-9a8e-6d2a3f0b7c11")


@dataclass(frozen=True)
class Branch:
    branch_id: str
    name: str
    unit: str
    township: str
    secretary: str
    quality: float  # the branch's underlying strength, 0–100


class CampaignSimulation:
    """Generates a campaign for one county, phase by phase, in publication order."""

    def __init__(
        self,
        *,
        seed: int = 2012,
        county: str = "610526",
        branches: int = 150,
        campaign_id: str = "pucheng-edu-2012",
        year: int = 2012,
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.county = county
        self.campaign_id = campaign_id
        self.year = year
        self.committee_id = f"{county}-edu-committee"
        self.source = f"/counties/{county}/edu-office"
        self.counter = 0
        self.branches = [self._branch(index) for index in range(1, branches + 1)]

    def _branch(self, index: int) -> Branch:
        township = TOWNSHIPS[(index - 1) % len(TOWNSHIPS)]
        unit = f"蒲城县{township.removesuffix('镇').removesuffix('街道')}{self.rng.choice(SCHOOL_KINDS)}"
        secretary = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
        quality = min(99.0, max(40.0, self.rng.gauss(80, 9)))
        return Branch(
            f"{self.county}-edu-{index:04d}", f"{unit}党支部", unit, township, secretary, quality
        )

    def _event(self, event_type: str, data: dict[str, Any], day: dt.date) -> dict[str, Any]:
        self.counter += 1
        event_id = str(uuid.uuid5(NAMESPACE, f"{self.seed}:{self.campaign_id}:{self.counter}"))
        when = dt.datetime.combine(day, dt.time(9, 0), tzinfo=CST) + dt.timedelta(
            seconds=self.counter
        )
        return envelope(
            event_type,
            data,
            campaign_id=self.campaign_id,
            county=self.county,
            source=self.source,
            event_id=event_id,
            time=when,
        )

    def _scores(self, quality: float, spread: float) -> dict[str, float]:
        return {
            criterion: round(min(100.0, max(0.0, self.rng.gauss(quality, spread))), 1)
            for criterion in ("leadership", "membership", "mechanism", "performance", "reputation")
        }

    def windows(self) -> list[dict[str, str]]:
        y = self.year
        return [
            {"phase": "survey_grading", "opens_on": f"{y}-03-01", "closes_on": f"{y}-04-15"},
            {"phase": "rectification", "opens_on": f"{y}-04-16", "closes_on": f"{y}-06-30"},
            {"phase": "emulation", "opens_on": f"{y}-07-01", "closes_on": f"{y}-08-15"},
            {"phase": "assessment", "opens_on": f"{y}-08-16", "closes_on": f"{y}-09-30"},
        ]

    def events(
        self, *, until: Phase = Phase.RECTIFICATION, close_last: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Registrations and launch, then each phase up to `until` (closed if close_last)."""
        start = dt.date(self.year, 3, 1)
        yield self._event(
            "org.branch_registered",
            {
                "branch_id": self.committee_id,
                "name": "中共蒲城县教育局委员会",
                "kind": "committee",
                "unit": "蒲城县教育局",
                "secretary": {"name": "局党委书记"},
                "member_count": 15,
            },
            start,
        )
        for branch in self.branches:
            yield self._event(
                "org.branch_registered",
                {
                    "branch_id": branch.branch_id,
                    "name": branch.name,
                    "kind": "branch",
                    "parent_id": self.committee_id,
                    "unit": branch.unit,
                    "township": branch.township,
                    "secretary": {
                        "name": branch.secretary,
                        "email": f"{branch.branch_id}@schools.example.org",
                    },
                    "member_count": self.rng.randint(5, 60),
                },
                start,
            )
        yield self._event(
            "campaign.launched",
            {
                "campaign_id": self.campaign_id,
                "name": "蒲城县教育系统基层组织建设年",
                "year": self.year,
                "phases": self.windows(),
            },
            start,
        )
        last = PHASE_ORDER.index(until)
        for position, phase in enumerate(PHASE_ORDER[: last + 1]):
            window = self.windows()[position]
            opens = dt.date.fromisoformat(window["opens_on"])
            closes = dt.date.fromisoformat(window["closes_on"])
            yield self._event(
                "campaign.phase_opened",
                {"campaign_id": self.campaign_id, "phase": phase.value},
                opens,
            )
            if phase is Phase.SURVEY_GRADING:
                yield from self._grading_inputs("initial", opens + dt.timedelta(days=20))
            elif phase is Phase.RECTIFICATION:
                yield from self._rectification(opens)
            elif phase is Phase.ASSESSMENT:
                yield from self._grading_inputs("final", closes - dt.timedelta(days=5))
            if position < last or close_last:
                yield self._event(
                    "campaign.phase_closed",
                    {"campaign_id": self.campaign_id, "phase": phase.value},
                    closes,
                )

    def _grading_inputs(self, round_: str, day: dt.date) -> Iterator[dict[str, Any]]:
        for branch in self.branches:
            quality = branch.quality + (3 if round_ == "final" else 0)
            kinds = ["self", "appraisal", "superior"]
            if self.rng.random() < 0.03:  # a few branches miss an input
                kinds.remove(self.rng.choice(kinds))
            base = {"branch_id": branch.branch_id, "round": round_}
            if "self" in kinds:
                yield self._event(
                    "grading.self_evaluated", {**base, "scores": self._scores(quality + 4, 4)}, day
                )
            if "appraisal" in kinds:
                yield self._event(
                    "grading.appraised",
                    {
                        **base,
                        "raters": self.rng.randint(8, 80),
                        "scores": self._scores(quality, 5),
                    },
                    day,
                )
            if "superior" in kinds:
                yield self._event(
                    "grading.superior_rated",
                    {
                        **base,
                        "rater_org_id": self.committee_id,
                        "scores": self._scores(quality, 3),
                    },
                    day,
                )

    def _rectification(self, opens: dt.date) -> Iterator[dict[str, Any]]:
        closes = dt.date(self.year, 6, 30)
        for branch in self.branches:
            problems = []
            for number in range(1, self.rng.randint(2, 4) + 1):
                problem_id = f"{branch.branch_id}-p{number}"
                problems.append(problem_id)
                yield self._event(
                    "rectification.problem_listed",
                    {
                        "branch_id": branch.branch_id,
                        "problem_id": problem_id,
                        "description": self.rng.choice(
                            [
                                "组织生活不够规范",
                                "党员发挥作用不明显",
                                "制度落实不到位",
                                "党员活动阵地设施陈旧",
                                "群众反映服务意识不强",
                            ]
                        ),
                        "source": self.rng.choice(["survey", "members", "public", "self"]),
                        "needs_superior": self.rng.random() < 0.15,
                    },
                    opens + dt.timedelta(days=3),
                )
            if self.rng.random() < 0.08:  # no commitment at all
                continue
            tasks = [
                {
                    "task_id": f"{problem_id}-t1",
                    "problem_id": problem_id,
                    "title": "整改：" + problem_id.rsplit("-", 1)[1],
                    "responsible": branch.secretary,
                    "requirement": "按期整改到位",
                    "measures": "制定方案、明确分工、定期督查",
                    "deadline": (opens + dt.timedelta(days=self.rng.randint(20, 70))).isoformat(),
                    "kind": self.rng.choice(["immediate", "gradual"]),
                }
                for problem_id in problems
            ]
            commitment = {
                "branch_id": branch.branch_id,
                "commitment_id": f"{branch.branch_id}-c",
                "revision": 1,
                "tasks": tasks,
            }
            yield self._event(
                "rectification.commitment_published", commitment, opens + dt.timedelta(days=10)
            )
            review = {
                "branch_id": branch.branch_id,
                "commitment_id": commitment["commitment_id"],
                "reviewer_org_id": self.committee_id,
            }
            if self.rng.random() < 0.1:
                yield self._event(
                    "rectification.commitment_reviewed",
                    {
                        **review,
                        "revision": 1,
                        "decision": "returned",
                        "guidance": "整改措施需更具体",
                    },
                    opens + dt.timedelta(days=12),
                )
                commitment = {**commitment, "revision": 2}
                yield self._event(
                    "rectification.commitment_published", commitment, opens + dt.timedelta(days=15)
                )
            yield self._event(
                "rectification.commitment_reviewed",
                {
                    **review,
                    "revision": commitment["revision"],
                    "decision": "approved",
                },
                opens + dt.timedelta(days=17),
            )
            for task in tasks:
                deadline = dt.date.fromisoformat(task["deadline"])
                if self.rng.random() < 0.7 and deadline < closes:
                    yield self._event(
                        "rectification.task_progressed",
                        {
                            "branch_id": branch.branch_id,
                            "task_id": task["task_id"],
                            "percent": 50,
                        },
                        deadline - dt.timedelta(days=7),
                    )
                    yield self._event(
                        "rectification.task_completed",
                        {
                            "branch_id": branch.branch_id,
                            "task_id": task["task_id"],
                            "evidence": "整改台账及验收记录",
                        },
                        deadline - dt.timedelta(days=1),
                    )
