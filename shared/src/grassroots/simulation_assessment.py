"""Phase 4 of the simulated campaign (分析评估, 巩固成果), one county at a time.

Each organisation's summary review answers the plan's three questions from its own record (its
commitment, its tasks completed, its learning meeting and target); the committee assesses every
organisation; 三级联述联评联考: the committee's secretary reports on duty to the county Party
committee and a few school organisations' secretaries to the bureau's committee, the committee
and the general branches are appraised by branches, members and public representatives (mostly
satisfied) and get their annual review; and good practices become standing rules. The final
round's inputs are the simulation's own. Only `grassroots.simulation` calls it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from grassroots.contract.common import Level
from grassroots.contract.labels import label

if TYPE_CHECKING:
    from grassroots.simulation import Action, Branch, County, History

SUMMARY_REVIEWED = 0.95  # the rest never send theirs (the committee notes it)
SCHOOLS_REPORTING = 2  # school branches reporting on duty to the committee, beyond general ones
GENERAL_BRANCHES_REPORTING = 4
STANDING_RULE = 0.06  # share of organisations making a good practice a standing rule
SCHOOL_ABBREVIATIONS = {
    "中学": "中",
    "初级中学": "初中",
    "中心小学": "中小",
    "小学": "小",
    "中心幼儿园": "幼",
    "中心学校": "中校",
}
COMMITTEE_RULES = (
    ("基层党组织分类定级动态管理办法", "每年开展一次分类定级，等次结果与评先评优挂钩。"),
    ("党员干部联系基层学校党组织制度", "局班子成员每人联系三所学校党组织，每学期至少调研两次。"),
)
SCHOOL_RULES = (
    ("党员承诺践诺制度", "党员每学期初公开承诺，期末述诺、评诺。"),
    ("党员先锋岗评选办法", "每学期评选党员先锋岗，结果在校内公示。"),
    ("支部主题党日制度", "每月固定一天开展主题党日，内容、记录存档备查。"),
    ("党员教师结对帮扶制度", "党员教师每人结对帮扶两名学困生或留守儿童。"),
)
ANNUAL_COMMENTS = {
    "excellent": "抓基层组织建设责任落实到位，党员群众评议满意度高。",
    "good": "抓基层组织建设成效较好，个别工作需进一步抓实。",
    "fair": "抓基层组织建设措施落实不够，需加强整改。",
    "poor": "抓基层组织建设不力，党员群众评议满意度低。",
}


def county_assessment(
    rng: random.Random,
    index: int,
    place: County,
    history: dict[str, History],
    *,
    opens: dt.date,
    closes: dt.date,
    year: int,
) -> Iterator[Action]:
    """One county's phase 4 inputs between `opens` and `closes` (in no order of days: the caller
    sorts them), each naming only the county's registered organisations."""
    days = dt.timedelta
    for branch in place.branches:
        record = history[branch.branch_id]
        reviewed = rng.random() < SUMMARY_REVIEWED
        if reviewed:
            yield (
                opens + days(rng.randint(3, 12)),
                index,
                "assessment.summary_reviewed",
                _summary_review(branch, record),
            )
        yield (
            opens + days(rng.randint(16, 24)),
            index,
            "assessment.committee_assessed",
            _committee_assessment(rng, branch, record, reviewed=reviewed),
        )
    yield from _duty_reports(rng, index, place, opens, year)
    general = [b for b in place.branches if b.kind == "general_branch"]
    appraised_on = opens + days(18)
    for org_id, groups in [
        (place.committee_id, _committee_raters(rng, place, history)),
        *((b.branch_id, _general_branch_raters(rng, place, history, b)) for b in general),
    ]:
        yield appraised_on, index, "assessment.org_appraised", {"org_id": org_id, "groups": groups}
        grade = _annual_grade(groups)
        yield (
            closes - days(4),
            index,
            "assessment.annual_reviewed",
            {"org_id": org_id, "year": year, "grade": grade, "comment": ANNUAL_COMMENTS[grade]},
        )
    yield from _standing_rules(rng, index, place, history, opens, closes, year)


def _summary_review(branch: Branch, record: History) -> dict[str, Any]:
    """The three answers, as its record bears them out."""
    target = label("level", (record.target_level or Level.STRONG).value)
    if record.commitment == "none":
        process = ("no", "未作出公开承诺，整改工作推进不扎实。")
    elif record.commitment == "late" or record.target_level is None:
        missed = "公开承诺未按时作出" if record.commitment == "late" else "专题组织生活会未召开"
        process = ("partly", f"各阶段工作基本完成，{missed}，资料有待完善。")
    else:
        process = ("yes", "四个阶段按时推进，公开承诺、整改台账等资料齐全。")
    found, solved = record.problems, record.completed
    if record.tasks == 0:
        problems = ("no", f"梳理突出问题{found}个，未制定整改方案，问题尚未解决。")
    elif solved == record.tasks:
        problems = ("yes", f"梳理突出问题{found}个，已全部解决。")
    elif record.completion >= 0.5:
        problems = ("partly", f"梳理突出问题{found}个，解决{solved}个，其余逐步整改中。")
    else:
        problems = ("no", f"梳理突出问题{found}个，仅解决{solved}个，整改进度滞后。")
    if record.initial_level is Level.STRONG and record.completion >= 0.8:
        advance = ("yes", "保持“强”的等次，示范带动作用明显。")
    elif record.completion >= 0.8 and record.target_level is not None:
        advance = ("yes", f"整改成效明显，党员群众满意度提高，争先进位目标“{target}”有望实现。")
    elif record.completion >= 0.5:
        advance = ("partly", f"有一定进步，与争先进位目标“{target}”尚有差距。")
    else:
        advance = ("no", "整改任务完成不多，争先进位成效不明显。")
    return {
        "branch_id": branch.branch_id,
        "process_solid": {"answer": process[0], "text": process[1]},
        "problems_solved": {"answer": problems[0], "text": problems[1]},
        "advance_evident": {"answer": advance[0], "text": advance[1]},
    }


def _committee_assessment(
    rng: random.Random, branch: Branch, record: History, *, reviewed: bool
) -> dict[str, Any]:
    """A score that follows its strength and its rectification, the level it reaches, a word."""
    expected = branch.quality + 2 + 10 * (record.completion - 0.7) - (0 if reviewed else 5)
    score = round(min(100.0, max(0.0, rng.gauss(expected, 4))), 1)
    if score >= 90:
        level, comment = Level.STRONG, "各项工作扎实，整改成效明显，示范作用突出。"
    elif score >= 80:
        level, comment = Level.FAIRLY_STRONG, "整改扎实，党员群众满意度明显提高。"
    elif score >= 60:
        level, comment = Level.AVERAGE, "各项工作基本完成，整改任务需进一步抓实。"
    else:
        level, comment = Level.WEAK, "工作推进滞后，整改任务完成率低，需重点督促。"
    if not reviewed:
        comment += "未按时报送评估小结。"
    return {
        "branch_id": branch.branch_id,
        "score": score,
        "level": level.value,
        "comment": comment,
    }


def _school_reference(branch: Branch, number: int, year: int) -> str:
    town = branch.township.removesuffix("镇").removesuffix("街道")
    return f"{town}{SCHOOL_ABBREVIATIONS[branch.school]}党发〔{year}〕{number}号"


def _duty_reports(
    rng: random.Random, index: int, place: County, opens: dt.date, year: int
) -> Iterator[Action]:
    """专项述职: the committee's secretary to the county's Party committee; the general branches'
    secretaries and a few strong secondary schools' to the bureau's committee, earlier."""
    abbreviation = place.name.removeprefix("大")[0]
    yield (
        opens + dt.timedelta(days=25),
        index,
        "assessment.duty_reported",
        {
            "org_id": place.committee_id,
            "reporter_name": place.secretary,
            "reported_to": f"中共{place.name}委",
            "reported_on": (opens + dt.timedelta(days=25)).isoformat(),
            "document_ref": f"{abbreviation}教党发〔{year}〕21号",
        },
    )
    general = [b for b in place.branches if b.kind == "general_branch"]
    schools = sorted(
        (b for b in place.branches if b.kind == "branch" and b.school in ("中学", "初级中学")),
        key=lambda b: (-b.quality, b.branch_id),
    )
    for branch in general[:GENERAL_BRANCHES_REPORTING] + schools[:SCHOOLS_REPORTING]:
        day = opens + dt.timedelta(days=rng.randint(8, 14))
        yield (
            day,
            index,
            "assessment.duty_reported",
            {
                "org_id": branch.branch_id,
                "reporter_name": branch.secretary,
                "reported_to": place.committee_name,
                "reported_on": day.isoformat(),
                "document_ref": _school_reference(branch, rng.randint(6, 15), year),
            },
        )


def _counts(rng: random.Random, group: str, raters: int) -> dict[str, Any]:
    """Mostly satisfied: about 90 % satisfied, a few dissatisfied at most."""
    raters = max(1, raters)
    satisfied = round(raters * min(1.0, max(0.7, rng.gauss(0.9, 0.04))))
    dissatisfied = min(raters - satisfied, round(raters * max(0.0, rng.gauss(0.02, 0.015))))
    return {
        "group": group,
        "satisfied": satisfied,
        "basically_satisfied": raters - satisfied - dissatisfied,
        "dissatisfied": dissatisfied,
    }


def _committee_raters(
    rng: random.Random, place: County, history: dict[str, History]
) -> list[dict[str, Any]]:
    members = sum(history[b.branch_id].member_count for b in place.branches)
    return [
        _counts(rng, "branches", len(place.branches)),
        _counts(rng, "members", min(300, max(20, members // 10))),  # representatives
        _counts(rng, "public_representatives", rng.randint(30, 60)),
    ]


def _general_branch_raters(
    rng: random.Random, place: County, history: dict[str, History], head: Branch
) -> list[dict[str, Any]]:
    led = place.children(head.branch_id)
    members = sum(history[b.branch_id].member_count for b in [head, *led])
    return [
        _counts(rng, "branches", len(led)),
        _counts(rng, "members", max(10, members // 2)),
        _counts(rng, "public_representatives", rng.randint(10, 30)),
    ]


def _annual_grade(groups: list[dict[str, Any]]) -> str:
    """The county's grade follows the appraisal (评议结果作为年度考核的重要内容)."""
    total = sum(g["satisfied"] + g["basically_satisfied"] + g["dissatisfied"] for g in groups)
    rate = sum(g["satisfied"] for g in groups) / total
    if rate >= 0.9:
        return "excellent"
    if rate >= 0.8:
        return "good"
    return "fair" if rate >= 0.6 else "poor"


def _standing_rules(
    rng: random.Random,
    index: int,
    place: County,
    history: dict[str, History],
    opens: dt.date,
    closes: dt.date,
    year: int,
) -> Iterator[Action]:
    """巩固深化: the committee's two rules, and a few organisations' own (those with an
    innovation measure to keep, first)."""
    abbreviation = place.name.removeprefix("大")[0]
    adopted = closes - dt.timedelta(days=10)
    for number, (title, summary) in enumerate(COMMITTEE_RULES, start=23):
        yield (
            adopted,
            index,
            "assessment.rule_established",
            {
                "org_id": place.committee_id,
                "title": title,
                "adopted_on": adopted.isoformat(),
                "document_ref": f"{abbreviation}教党发〔{year}〕{number}号",
                "summary": summary,
            },
        )
    keen = sorted(
        place.branches,
        key=lambda b: (
            "innovation_measure" not in history[b.branch_id].activities,
            -(b.quality + rng.gauss(0, 8)),
            b.branch_id,
        ),
    )
    count = max(1, round(len(place.branches) * STANDING_RULE))
    for branch in sorted(keen[:count], key=lambda b: b.branch_id):
        title, summary = rng.choice(SCHOOL_RULES)
        day = min(closes - dt.timedelta(days=1), opens + dt.timedelta(days=rng.randint(20, 40)))
        yield (
            day,
            index,
            "assessment.rule_established",
            {
                "org_id": branch.branch_id,
                "title": title,
                "adopted_on": day.isoformat(),
                "document_ref": _school_reference(branch, rng.randint(5, 15), year),
                "summary": summary,
            },
        )
