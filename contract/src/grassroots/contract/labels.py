"""The one table of Chinese labels shown to people; code, events and APIs use the English codes."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "level": {"strong": "强", "fairly_strong": "较强", "average": "一般", "weak": "薄弱"},
    "round": {"initial": "分类定级", "final": "晋位升级复评"},
    "phase": {
        "survey_grading": "调查摸底、分类定级",
        "rectification": "集中整改、晋位升级",
        "emulation": "学习先进、创先争优",
        "assessment": "分析评估、巩固成果",
    },
    "criterion": {
        "leadership": "领导班子好",
        "membership": "党员队伍好",
        "mechanism": "工作机制好",
        "performance": "工作业绩好",
        "reputation": "群众反映好",
    },
    "input_source": {
        "self": "党组织自评",
        "appraisal": "党员群众评议",
        "superior": "上级党组织评定",
    },
    "org_kind": {"committee": "党委", "general_branch": "党总支", "branch": "党支部"},
    "basis": {"computed": "按规则计算", "override": "上级评定"},
    "rule": {
        "floor": "单项低于底线分",
        "upgrade_cap": "整改完成率未达要求，不得晋位",
        "override": "上级党组织评定",
        "veto": "一票否决",
        "quota": "“强”等次名额已满",
        "supplementary": "补充定级",
        "assessment": "计入局党委评估",
    },
    "problem_source": {
        "survey": "调研发现",
        "members": "党员提出",
        "public": "群众反映",
        "self": "自查",
    },
    "task_kind": {"immediate": "立即整改", "gradual": "逐步整改"},
    "task_status": {"open": "进行中", "completed": "已完成", "overdue": "已逾期"},
    "review": {"pending": "待审核", "approved": "已通过", "returned": "已退回"},
    "honour": {
        "advanced_organization": "先进基层党组织",
        "excellent_member": "优秀共产党员",
        "excellent_party_worker": "优秀党务工作者",
    },
    "activity": {
        "themed_activity": "党建特色主题活动",
        "innovation_measure": "党建工作创新举措",
        "pairing": "结对共建",
        "village_visit": "在职党员进村入户",
        "double_help": "双帮双比",
    },
    "lagging_reason": {
        "task_overdue": "整改任务逾期",
        "commitment_missing": "未按时公开承诺",
        "grading_incomplete": "定级材料不全",
        "escalation_unanswered": "上报问题逾期未答复",
        "review_overdue": "整改方案逾期未审核",
    },
    "problem_status": {
        "open": "未整改",
        "in_rectification": "整改中",
        "resolved": "已解决",
        "deferred": "暂缓整改",
    },
    "escalation_answer": {
        "accepted": "已受理",
        "resolved": "已解决",
        "cannot_resolve": "无法解决",
    },
    "channel": {"email": "电子邮件", "webhook": "系统推送", "inbox": "站内信"},
    "missing_input": {
        "self": "党组织自评",
        "appraisal": "党员群众评议",
        "superior": "上级党组织评定",
        "registration": "组织登记信息",
    },
    "phase_tasks": {
        "survey_grading": "开展调研走访和宣传动员，完成党组织自评、党员群众评议和上级党组织评定，分类定级",
        "rectification": "梳理问题，公开承诺整改事项（明确责任、要求、措施、时限），集中整改、晋位升级",
        "emulation": "评比表彰、集中宣传先进典型，召开专题组织生活会比学赶帮、确定争先进位目标，开展“四个一”活动和结对共建、在职党员进村入户、双帮双比",
        "assessment": "开展评估小结和局党委评估，三级联述联评联考（专项述职、评议、年度考核），巩固深化、建章立制，完成晋位升级复评",
    },
    "notification_kind": {
        "grading_result": "定级结果通知",
        "grading_incomplete": "定级材料不全提醒",
        "phase_opened": "阶段工作启动通知",
        "phase_closing": "阶段截止提醒",
        "commitment_due": "公开承诺到期提醒",
        "commitment_returned": "整改方案退回通知",
        "problem_escalated": "问题上报待答复通知",
        "review_requested": "整改方案待审核通知",
        "escalation_overdue": "上报问题逾期未答复督办",
        "review_overdue": "整改方案逾期未审核督办",
        "task_overdue": "整改任务逾期提醒",
        "overdue_escalated": "逾期整改督办",
        "circular": "督查通报",
        "commendation": "表彰通报",
    },
    "audience": {
        "secretary": "支部书记",
        "responsible": "整改责任人（经党组织站内信）",
        "office": "党委办",
        "parent": "上级党组织",
        "every_branch": "全县各党组织",
    },
    "inbox_state": {"unread": "未读", "read": "已读"},
    "four_ones": {
        "themed_activity": "一项党建特色主题活动",
        "innovation_measure": "一项党建工作创新举措",
        "advanced_organization": "一批先进党组织",
        "excellent_member": "一批优秀共产党员",
    },
    "publicity_channel": {
        "education_website": "教育网",
        "education_newspaper": "教育报",
        "own_channel": "本单位宣传阵地",
    },
    "answer": {"yes": "是", "partly": "基本", "no": "否"},
    "summary_question": {
        "process_solid": "过程是否扎实",
        "problems_solved": "突出问题是否解决",
        "advance_evident": "争先进位的成效是否明显",
    },
    "rater_group": {
        "branches": "基层党组织",
        "members": "党员",
        "public_representatives": "群众代表",
    },
    "satisfaction": {
        "satisfied": "满意",
        "basically_satisfied": "基本满意",
        "dissatisfied": "不满意",
    },
    "annual_grade": {"excellent": "优秀", "good": "良好", "fair": "一般", "poor": "较差"},
}


def label(table: str, code: str) -> str:
    """The Chinese label of a code; the code itself when no label is known."""
    return LABELS.get(table, {}).get(code, code)
