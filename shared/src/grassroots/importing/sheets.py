"""The template sheets: their columns, in order, and the event type each row becomes.

One sheet per kind of row. Column headers are the official words; the codes of the contract
(levels, kinds, sources, …) are offered as their Chinese labels (grassroots.contract.labels).
The 整改方案 (public commitment) spans two sheets: a row per plan revision in 整改方案 and a
row per task in 任务, joined by 方案编号 and 修订版次."""

from __future__ import annotations

from dataclasses import dataclass

from grassroots.importing.columns import Column, Kind, column_letter

TIME_NOTE = (
    "事项发生或填报的时间：日期（如 2012-03-21，按当日9时计）或日期加时刻（如 2012-03-21 09:30）"
)
ORG_ID_NOTE = "党组织的编号（与党组织登记表一致），字母、数字和 . _ : / - 组成"
SCORE_NOTE = "0–100 的分数，可带一位小数"


def _time(example: str) -> Column:
    return Column("填报时间", "time", Kind.TIME, True, TIME_NOTE, example, width=20)


def _org(header: str = "党组织编号", field: str = "branch_id", note: str = ORG_ID_NOTE) -> Column:
    return Column(header, field, Kind.ID, True, note, "610526-edu-0007", width=18)


def _scores(example: float) -> tuple[Column, ...]:
    criteria = (
        ("leadership", "领导班子好"),
        ("membership", "党员队伍好"),
        ("mechanism", "工作机制好"),
        ("performance", "工作业绩好"),
        ("reputation", "群众反映好"),
    )
    return tuple(
        Column(header, f"scores.{code}", Kind.NUMBER, True, SCORE_NOTE, example + offset, width=12)
        for offset, (code, header) in enumerate(criteria)
    )


ROUND = Column(
    "定级轮次",
    "round",
    Kind.CHOICE,
    True,
    "分类定级（调查摸底阶段）或晋位升级复评（分析评估阶段）",
    "分类定级",
    choices="round",
)


@dataclass(frozen=True)
class Sheet:
    """A template sheet: its title, its columns, and the event type of its rows (None for the
    sheets read together with another: 任务 belongs to 整改方案)."""

    title: str
    template: str
    event_type: str | None
    purpose: str
    columns: tuple[Column, ...]

    def letter(self, field: str) -> str:
        for index, column in enumerate(self.columns):
            if column.field == field:
                return column_letter(index)
        raise KeyError(field)

    def column(self, field: str) -> Column:
        return next(column for column in self.columns if column.field == field)

    @property
    def example(self) -> list[object]:
        return [column.example for column in self.columns]


ORGANISATIONS = Sheet(
    "党组织登记",
    "党组织登记",
    "org.branch_registered",
    "登记或更新党组织（党委、党总支、党支部）的基本信息；再次导入同一编号即为更新。",
    (
        _org(note="党组织的编号，全县唯一，如 610526-edu-0007"),
        Column("党组织名称", "name", Kind.TEXT, True, "全称", "蒲城县城关中学党支部", width=28),
        Column("组织类别", "kind", Kind.CHOICE, True, "党委、党总支或党支部", "党支部", "org_kind"),
        Column(
            "上级党组织编号",
            "parent_id",
            Kind.ID,
            False,
            "上级党组织的编号",
            "610526-edu-committee",
            width=20,
        ),
        Column("所在单位", "unit", Kind.TEXT, True, "学校或单位名称", "蒲城县城关中学", width=22),
        Column("所在乡镇", "township", Kind.TEXT, False, "单位所在的乡镇（街道）", "城关街道"),
        Column("书记姓名", "secretary.name", Kind.TEXT, True, "党组织书记（第一责任人）", "王建国"),
        Column(
            "书记电子邮箱",
            "secretary.email",
            Kind.TEXT,
            False,
            "接收通知的电子邮箱",
            "wangjianguo@example.org",
            width=24,
        ),
        Column("书记电话", "secretary.phone", Kind.TEXT, False, "电话号码", "0913-7212345"),
        Column("党员人数", "member_count", Kind.INT, True, "党员人数，整数", 28, width=10),
        _time("2012-03-01"),
    ),
)

SELF_EVALUATION = Sheet(
    "党组织自评",
    "党组织自评",
    "grading.self_evaluated",
    "党组织按“五个好”标准自评的分数（每个党组织每轮一行，后报的替换先报的）。",
    (
        _org(),
        ROUND,
        *_scores(88),
        Column(
            "自评情况",
            "summary",
            Kind.TEXT,
            False,
            "自评的文字说明",
            "班子团结，制度健全",
            width=30,
        ),
        _time("2012-03-21"),
    ),
)

APPRAISAL = Sheet(
    "党员群众评议",
    "党员群众评议",
    "grading.appraised",
    "党员和群众评议的平均分数（每个党组织每轮一行）。",
    (
        _org(),
        ROUND,
        Column("参评人数", "raters", Kind.INT, True, "参加评议的人数，至少1人", 36, width=10),
        *_scores(85),
        _time("2012-03-21"),
    ),
)

SUPERIOR_RATING = Sheet(
    "上级党组织评定",
    "上级党组织评定",
    "grading.superior_rated",
    "上级党组织评定的分数；需要时调整认定等次（须写明理由）或一票否决。",
    (
        _org(),
        ROUND,
        _org("评定党组织编号", "rater_org_id", "作出评定的上级党组织的编号"),
        *_scores(86),
        Column(
            "调整认定等次",
            "override_level",
            Kind.CHOICE,
            False,
            "仅在上级党组织调整认定时填写：强、较强、一般或薄弱",
            None,
            "level",
        ),
        Column(
            "调整认定理由",
            "override_reason",
            Kind.TEXT,
            False,
            "填写调整认定等次时必填",
            None,
            width=24,
        ),
        Column(
            "一票否决理由",
            "veto_reason",
            Kind.TEXT,
            False,
            "一票否决时填写，等次即为薄弱",
            None,
            width=24,
        ),
        _time("2012-03-21"),
    ),
)

PROBLEMS = Sheet(
    "梳理问题",
    "梳理问题",
    "rectification.problem_listed",
    "党组织梳理出的问题，每个问题一行。",
    (
        _org(),
        Column(
            "问题编号",
            "problem_id",
            Kind.ID,
            True,
            "本党组织内唯一",
            "610526-edu-0007-p1",
            width=20,
        ),
        Column(
            "问题描述", "description", Kind.TEXT, True, "存在的问题", "组织生活不够规范", width=30
        ),
        Column(
            "问题来源",
            "source",
            Kind.CHOICE,
            True,
            "调研发现、党员提出、群众反映或自查",
            "党员提出",
            "problem_source",
        ),
        Column(
            "需上级党组织统筹解决",
            "needs_superior",
            Kind.YES_NO,
            True,
            "是或否；填“是”的问题上报上级党组织",
            "否",
            width=12,
        ),
        _time("2012-04-19"),
    ),
)

PLANS = Sheet(
    "整改方案",
    "整改方案",
    "rectification.commitment_published",
    "公开承诺的整改方案，每个方案（每一版）一行；其任务填在“任务”表。修改后重新报送时版次加1。",
    (
        _org(),
        Column(
            "方案编号",
            "commitment_id",
            Kind.ID,
            True,
            "本党组织的整改方案编号",
            "610526-edu-0007-c",
            width=20,
        ),
        Column(
            "修订版次", "revision", Kind.INT, True, "第一次报送为1，每修改重报一次加1", 1, width=10
        ),
        _time("2012-04-26"),
    ),
)

TASKS = Sheet(
    "任务",
    "整改方案",
    None,
    "整改方案的任务，每项任务一行，做到“四明确”（明确责任、要求、措施、时限）。",
    (
        Column(
            "方案编号",
            "commitment_id",
            Kind.ID,
            True,
            "所属整改方案的编号",
            "610526-edu-0007-c",
            width=20,
        ),
        Column("修订版次", "revision", Kind.INT, True, "所属整改方案的版次", 1, width=10),
        Column(
            "任务编号",
            "task_id",
            Kind.ID,
            True,
            "本党组织内唯一",
            "610526-edu-0007-p1-t1",
            width=22,
        ),
        Column(
            "明确时限",
            "deadline",
            Kind.DATE,
            True,
            f"完成期限，日期格式如 {'2012-05-31'}",
            "2012-05-31",
        ),
        Column(
            "整改类型", "kind", Kind.CHOICE, True, "立即整改或逐步整改", "立即整改", "task_kind"
        ),
        Column("任务名称", "title", Kind.TEXT, True, "做什么", "规范“三会一课”", width=24),
        Column("明确责任", "responsible", Kind.TEXT, True, "责任人", "王建国"),
        Column("明确要求", "requirement", Kind.TEXT, True, "整改要求", "按期整改到位", width=24),
        Column(
            "明确措施",
            "measures",
            Kind.TEXT,
            True,
            "整改措施",
            "制定方案、明确分工、定期督查",
            width=30,
        ),
        Column(
            "针对问题编号",
            "problem_id",
            Kind.ID,
            False,
            "任务针对的问题编号（梳理问题表中的）",
            "610526-edu-0007-p1",
            width=20,
        ),
    ),
)

PROGRESS = Sheet(
    "任务进展",
    "任务进展",
    "rectification.task_progressed",
    "整改任务的进展；任务完成时填写完成佐证材料（此时完成进度填100或不填）。",
    (
        _org(),
        Column(
            "任务编号",
            "task_id",
            Kind.ID,
            True,
            "整改方案中的任务编号",
            "610526-edu-0007-p1-t1",
            width=22,
        ),
        Column(
            "完成进度（%）",
            "percent",
            Kind.INT,
            False,
            "0–100 的整数；比上次低时须在情况说明中写明原因；填写完成佐证材料时可不填",
            60,
            width=12,
        ),
        Column("情况说明", "note", Kind.TEXT, False, "已做的工作", "已完成制度修订", width=30),
        Column(
            "完成佐证材料",
            "evidence",
            Kind.TEXT,
            False,
            "任务完成时填写（如整改台账、验收记录），填写即表示任务已完成",
            None,
            width=24,
        ),
        _time("2012-05-20"),
    ),
)

ACTIVITIES = Sheet(
    "活动开展",
    "活动开展",
    "emulation.activity_reported",
    "“四个一”中的主题活动、创新举措，以及结对共建、在职党员进村入户、双帮双比的开展情况。",
    (
        _org(),
        Column(
            "活动类别",
            "kind",
            Kind.CHOICE,
            True,
            "党建特色主题活动、党建工作创新举措、结对共建、在职党员进村入户或双帮双比",
            "党建特色主题活动",
            "activity",
            width=20,
        ),
        Column("活动名称", "title", Kind.TEXT, True, "活动的名称", "“五个好”主题党日", width=28),
        Column("开展日期", "held_on", Kind.DATE, True, "日期，如 2012-07-06", "2012-07-06"),
        _time("2012-07-07"),
    ),
)

COMMENDATIONS = Sheet(
    "评比表彰",
    "评比表彰",
    "emulation.commended",
    "评比表彰：先进基层党组织、优秀共产党员、优秀党务工作者。",
    (
        _org(note="受表彰的党组织，或受表彰党员所在党组织的编号"),
        Column(
            "表彰类别",
            "honour",
            Kind.CHOICE,
            True,
            "先进基层党组织、优秀共产党员或优秀党务工作者",
            "先进基层党组织",
            "honour",
            width=18,
        ),
        Column(
            "表彰名称",
            "title",
            Kind.TEXT,
            True,
            "表彰的名称",
            "局党委“七一”创先争优专项表彰",
            width=30,
        ),
        Column(
            "受表彰人姓名",
            "member_name",
            Kind.TEXT,
            False,
            "表彰优秀共产党员、优秀党务工作者时必填",
            None,
        ),
        Column(
            "表彰单位编号",
            "awarded_by",
            Kind.ID,
            False,
            "作出表彰的党组织编号（如局党委）",
            "610526-edu-committee",
            width=20,
        ),
        Column("表彰日期", "awarded_on", Kind.DATE, False, "日期，如 2012-07-01", "2012-07-01"),
        _time("2012-07-01"),
    ),
)

SHEETS: tuple[Sheet, ...] = (
    ORGANISATIONS,
    SELF_EVALUATION,
    APPRAISAL,
    SUPERIOR_RATING,
    PROBLEMS,
    PLANS,
    TASKS,
    PROGRESS,
    ACTIVITIES,
    COMMENDATIONS,
)
BY_TITLE = {sheet.title: sheet for sheet in SHEETS}
TEMPLATES: dict[str, tuple[Sheet, ...]] = {}
for _sheet in SHEETS:
    TEMPLATES.setdefault(_sheet.template, ())
    TEMPLATES[_sheet.template] += (_sheet,)
COVERED_TYPES = frozenset(
    {sheet.event_type for sheet in SHEETS if sheet.event_type} | {"rectification.task_completed"}
)
"""The event types the templates carry (a completion is a 任务进展 row with its evidence)."""
