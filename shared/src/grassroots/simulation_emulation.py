"""Phase 3 of the simulated campaign (学习先进, 创先争优), one county at a time.

What the plan asks for, at realistic rates: activities — the "four ones"' themed activity and
innovation measure, pairing, village visits, double help — by most organisations but not all;
the committee's 七一 special commendation (局党委“七一”创先争优专项表彰) of a few advanced
organisations, excellent members and party workers, and a few general branches' own
commendations of their branches; publicity in the bureau's columns and the schools' own
channels; a special organisational-life meeting (专题组织生活会) by most organisations, aiming one
level above the one they started from. Only `grassroots.simulation` calls it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from grassroots.contract.common import LEVEL_ORDER, Level
from grassroots.contract.labels import label

if TYPE_CHECKING:
    from grassroots.simulation import Action, Branch, County, History

# Share of organisations reporting at least one activity of each kind; a stronger organisation
# more often (± up to 0.2 with its quality). Never 1: the not-covered lists are never empty.
ACTIVITY_SHARES = {
    "themed_activity": 0.82,
    "innovation_measure": 0.70,
    "pairing": 0.80,
    "village_visit": 0.76,
    "double_help": 0.70,
}
ACTIVITY_TITLES = {
    "themed_activity": (
        "“五个好”主题党日",
        "“迎接十八大·党旗更鲜红”主题教育",
        "“党员先锋岗”创建活动",
        "“师德标兵”评选主题活动",
        "“红烛映初心”党员示范课展评",
    ),
    "innovation_measure": (
        "党员积分制管理",
        "党员教师“一帮一”帮扶学困生",
        "“党建+教研”双促机制",
        "党员联系班级制度",
        "支部工作“月计划、季督查”机制",
    ),
    "pairing": ("城乡学校党支部结对共建",),  # and "与…党支部结对共建", a partner of the county
    "village_visit": (
        "在职党员进村入户走访",
        "党员教师暑期进村入户家访留守儿童",
        "在职党员进村入户宣讲教育惠民政策",
    ),
    "double_help": (
        "党员“双帮双比”活动",
        "“帮学习、帮生活，比师德、比业绩”双帮双比",
        "党员“双帮双比”结对帮扶",
    ),
}
SECOND_ACTIVITY = 0.25  # an organisation reports a second activity of a kind it reported
# The committee's 七一 commendation: (share of the organisations, at most) per honour.
ADVANCED = (0.08, 16)
EXCELLENT_MEMBERS = (0.10, 24)
PARTY_WORKERS = (0.03, 8)
MEMBER_OF_ADVANCED = 0.6  # an advanced organisation has one of the excellent members
GENERAL_BRANCH_COMMENDS = 0.6  # beyond the first general branch, which always does
# 各支部(总支)根据实际开展各类评比表彰: a branch names its own excellent members around 七一.
OWN_MEMBERS_COMMENDED = 0.45  # + (quality − 80) / 100
SPECIAL_COMMENDATION = "局党委“七一”创先争优专项表彰"
IN_NEWSPAPER = 0.5  # a model on the education website is in the education newspaper too
OWN_CHANNEL = 0.3  # + 0.3 when commended
OWN_CHANNELS = ("校园宣传栏", "学校网站“党建园地”", "校园广播站")
LEARNING_MEETING = 0.92
ORG_PHRASES = ("把支部建在教学一线", "党建引领办好人民满意的教育", "创先争优迎接十八大")
PERSON_PHRASES = {
    "excellent_member": ("扎根乡村教育二十载", "把爱洒向每一个学生", "三尺讲台践初心"),
    "excellent_party_worker": ("支部工作的“老黄牛”", "把党建台账做成样板", "以党建带教风促学风"),
}


def county_emulation(
    rng: random.Random,
    index: int,
    place: County,
    history: dict[str, History],
    *,
    opens: dt.date,
    closes: dt.date,
    person: Callable[[], str],
) -> Iterator[Action]:
    """One county's phase 3 between `opens` and `closes`, in no particular order of days (the
    caller sorts them); updates each organisation's history with its activities and target."""
    qiyi = dt.date(opens.year, 7, 1)
    if not opens <= qiyi <= closes:  # 七一 outside the phase: a few days into it
        qiyi = min(closes, opens + dt.timedelta(days=5))
    titles: dict[str, list[str]] = {}
    for branch in place.branches:
        for action in _activities(rng, index, place, branch, opens, closes):
            history[branch.branch_id].activities.add(action[3]["kind"])
            titles.setdefault(branch.branch_id, []).append(action[3]["title"])
            yield action
    commended = list(_committee_commendations(rng, place, history, qiyi, person))
    by_general_branches = list(_general_branch_commendations(rng, place, qiyi, person))
    by_themselves = list(_own_commendations(rng, place, qiyi, person))
    for data in commended + by_general_branches + by_themselves:
        yield dt.date.fromisoformat(data["awarded_on"]), index, "emulation.commended", data
    for day, data in _publicity(rng, place, commended, by_general_branches, titles, qiyi, closes):
        yield day, index, "emulation.publicized", data
    advanced = {
        data["branch_id"]: data["awarded_by"]
        for data in commended + by_general_branches
        if data["honour"] == "advanced_organization"
    }
    for day, data in _learning_meetings(rng, place, history, advanced, qiyi, closes):
        yield day, index, "emulation.learning_meeting_held", data


def _activities(
    rng: random.Random, index: int, place: County, branch: Branch, opens: dt.date, closes: dt.date
) -> Iterator[Action]:
    span = max(0, (closes - opens).days - 5)
    for kind, share in ACTIVITY_SHARES.items():
        if rng.random() >= share + (branch.quality - 80) / 100:
            continue
        for _ in range(2 if rng.random() < SECOND_ACTIVITY else 1):
            held = opens + dt.timedelta(days=rng.randint(0, span))
            title = rng.choice(ACTIVITY_TITLES[kind])
            if kind == "pairing" and rng.random() < 0.5:
                partner = rng.choice(place.branches)
                if partner is not branch:
                    title = f"与{partner.unit}党组织结对共建"
            data = {
                "branch_id": branch.branch_id,
                "kind": kind,
                "title": title,
                "held_on": held.isoformat(),
            }
            yield held + dt.timedelta(days=1), index, "emulation.activity_reported", data


def _few(count: int, share_and_cap: tuple[float, int]) -> int:
    share, cap = share_and_cap
    return max(1, min(cap, round(count * share)))


def _committee_commendations(
    rng: random.Random,
    place: County,
    history: dict[str, History],
    qiyi: dt.date,
    person: Callable[[], str],
) -> Iterator[dict[str, Any]]:
    """The 七一 special commendation: the strongest and busiest organisations, a member of most
    of them and of others, and a few party workers (mostly secretaries)."""
    base = {"title": SPECIAL_COMMENDATION, "awarded_by": place.committee_id}
    base["awarded_on"] = qiyi.isoformat()
    orgs = place.branches
    merit = {
        b.branch_id: b.quality + 3 * len(history[b.branch_id].activities) + rng.gauss(0, 5)
        for b in orgs
    }
    ranked = sorted(orgs, key=lambda b: (-merit[b.branch_id], b.branch_id))
    advanced = ranked[: _few(len(orgs), ADVANCED)]
    for branch in advanced:
        yield {"branch_id": branch.branch_id, "honour": "advanced_organization", **base}
    with_member = [b for b in advanced if rng.random() < MEMBER_OF_ADVANCED]
    others = sorted(
        (b for b in orgs if b not in with_member),
        key=lambda b: (-(b.quality + rng.gauss(0, 8)), b.branch_id),
    )
    members = (with_member + others)[: _few(len(orgs), EXCELLENT_MEMBERS)]
    for branch in sorted(members, key=lambda b: b.branch_id):
        yield {
            "branch_id": branch.branch_id,
            "honour": "excellent_member",
            "member_name": person(),
            **base,
        }
    workers = rng.sample(orgs, _few(len(orgs), PARTY_WORKERS))
    for branch in sorted(workers, key=lambda b: b.branch_id):
        name = branch.secretary if rng.random() < 0.7 else person()
        yield {
            "branch_id": branch.branch_id,
            "honour": "excellent_party_worker",
            "member_name": name,
            **base,
        }


def _general_branch_commendations(
    rng: random.Random, place: County, qiyi: dt.date, person: Callable[[], str]
) -> Iterator[dict[str, Any]]:
    """A few general branches commend their best branches (and a member of one) around 七一."""
    general = [b for b in place.branches if b.kind == "general_branch"]
    for number, head in enumerate(general):
        led = sorted(place.children(head.branch_id), key=lambda b: (-b.quality, b.branch_id))
        if not led or (number > 0 and rng.random() >= GENERAL_BRANCH_COMMENDS):
            continue
        base = {
            "title": f"{_short(place, head)}“七一”创先争优表彰",
            "awarded_by": head.branch_id,
            "awarded_on": (qiyi + dt.timedelta(days=rng.randint(0, 2))).isoformat(),
        }
        for branch in led[: rng.randint(1, 2)]:
            yield {"branch_id": branch.branch_id, "honour": "advanced_organization", **base}
        if rng.random() < 0.7:
            yield {
                "branch_id": rng.choice(led[:3]).branch_id,
                "honour": "excellent_member",
                "member_name": person(),
                **base,
            }


def _own_commendations(
    rng: random.Random, place: County, qiyi: dt.date, person: Callable[[], str]
) -> Iterator[dict[str, Any]]:
    """Many branches commend one or two of their own members as 优秀共产党员 around 七一."""
    for branch in place.branches:
        if rng.random() >= OWN_MEMBERS_COMMENDED + (branch.quality - 80) / 100:
            continue
        base = {
            "title": f"{_short(place, branch)}“七一”评优表彰",
            "awarded_by": branch.branch_id,
            "awarded_on": (qiyi + dt.timedelta(days=rng.randint(0, 3))).isoformat(),
        }
        for _ in range(rng.randint(1, 2)):
            yield {
                "branch_id": branch.branch_id,
                "honour": "excellent_member",
                "member_name": person(),
                **base,
            }


def _short(place: County, branch: Branch) -> str:
    return branch.name.removeprefix(place.name)


def _county_short(place: County) -> str:
    return place.name.removesuffix("县").removesuffix("区")


def _publicity(
    rng: random.Random,
    place: County,
    commended: list[dict[str, Any]],
    by_general_branches: list[dict[str, Any]],
    titles: dict[str, list[str]],
    qiyi: dt.date,
    closes: dt.date,
) -> Iterator[tuple[dt.date, dict[str, Any]]]:
    """The bureau's columns (教育网, 教育报) on the committee's models; the schools' own."""
    names = {b.branch_id: b for b in place.branches}
    website = f"{_county_short(place)}教育网“创先争优”专栏"
    newspaper = f"{_county_short(place)}教育报“先进典型”专栏"

    def title(data: dict[str, Any]) -> str:
        if data.get("member_name"):
            phrase = rng.choice(PERSON_PHRASES[data["honour"]])
            return f"{label('honour', data['honour'])}{data['member_name']}：{phrase}"
        own = titles.get(data["branch_id"])
        return f"{_short(place, names[data['branch_id']])}：{rng.choice(own or ORG_PHRASES)}"

    for number, data in enumerate(commended, start=1):
        about = {"branch_id": data["branch_id"], "title": title(data)}
        if data.get("member_name"):
            about["member_name"] = data["member_name"]
        published = min(closes, qiyi + dt.timedelta(days=rng.randint(3, 15)))
        yield (
            published,
            {
                **about,
                "channel": "education_website",
                "channel_name": website,
                "published_on": published.isoformat(),
                "url": f"https://edu.example.org/{place.code}/cxzy/{published:%Y%m%d}-{number}.html",
            },
        )
        if rng.random() < IN_NEWSPAPER:
            printed = min(closes, published + dt.timedelta(days=rng.randint(2, 10)))
            yield (
                printed,
                {
                    **about,
                    "channel": "education_newspaper",
                    "channel_name": newspaper,
                    "published_on": printed.isoformat(),
                },
            )
    honoured = {data["branch_id"] for data in commended + by_general_branches}
    for branch in place.branches:
        if rng.random() >= OWN_CHANNEL + (0.3 if branch.branch_id in honoured else 0):
            continue
        about_them = [d for d in by_general_branches if d["awarded_by"] == branch.branch_id]
        data = rng.choice(about_them) if about_them else {"branch_id": branch.branch_id}
        published = min(closes, qiyi + dt.timedelta(days=rng.randint(4, 30)))
        item = {
            "branch_id": data["branch_id"],
            "title": title(data),
            "channel": "own_channel",
            "channel_name": rng.choice(OWN_CHANNELS),
            "published_on": published.isoformat(),
        }
        if data.get("member_name"):
            item["member_name"] = data["member_name"]
        yield published, item


def _learning_meetings(
    rng: random.Random,
    place: County,
    history: dict[str, History],
    advanced: dict[str, str],
    qiyi: dt.date,
    closes: dt.date,
) -> Iterator[tuple[dt.date, dict[str, Any]]]:
    """Most organisations compare themselves with the advanced (those the committee, or their own
    general branch, commended) and aim one level above where they started."""
    names = {b.branch_id: b.name for b in place.branches}
    for branch in place.branches:
        if rng.random() >= LEARNING_MEETING:
            continue
        record = history[branch.branch_id]
        start = record.initial_level or _level_of(branch.quality)
        target = LEVEL_ORDER[max(0, LEVEL_ORDER.index(start) - 1)]
        record.target_level = target
        examples = [
            names[org]
            for org, by in advanced.items()
            if org != branch.branch_id and by in (place.committee_id, branch.parent_id)
        ]
        learned_from = rng.sample(examples, min(len(examples), rng.randint(1, 2)))
        held = min(closes - dt.timedelta(days=2), qiyi + dt.timedelta(days=rng.randint(5, 35)))
        found = record.problems or rng.randint(2, 4)
        yield (
            held,
            {
                "branch_id": branch.branch_id,
                "held_on": held.isoformat(),
                "target_level": target.value,
                "learned_from": learned_from,
                "summary": f"对照先进找差距，查摆问题{found}个，"
                f"明确争先进位目标为“{label('level', target.value)}”。",
            },
        )


def _level_of(quality: float) -> Level:
    """Where an organisation without an initial level (an input was missing) likely stands."""
    for level, lowest in ((Level.STRONG, 90), (Level.FAIRLY_STRONG, 80), (Level.AVERAGE, 60)):
        if quality >= lowest:
            return level
    return Level.WEAK
