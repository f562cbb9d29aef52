"""Valid example events, one builder per type; tests, the demo and the docs start from these."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

from grassroots.contract.registry import EVENTS

COUNTY = "610526"
CAMPAIGN = "pucheng-edu-2012"
OFFICE_SOURCE = "/counties/610526/edu-office"
CST = dt.timezone(dt.timedelta(hours=8))

SCORES = {
    "leadership": 85.0,
    "membership": 82.0,
    "mechanism": 80.0,
    "performance": 88.0,
    "reputation": 84.0,
}

DATA: dict[str, dict[str, Any]] = {
    "campaign.launched": {
        "campaign_id": CAMPAIGN,
        "name": "蒲城县教育系统基层组织建设年",
        "year": 2012,
        "phases": [
            {"phase": "survey_grading", "opens_on": "2012-03-01", "closes_on": "2012-04-15"},
            {"phase": "rectification", "opens_on": "2012-04-16", "closes_on": "2012-06-30"},
            {"phase": "emulation", "opens_on": "2012-07-01", "closes_on": "2012-08-15"},
            {"phase": "assessment", "opens_on": "2012-08-16", "closes_on": "2012-09-30"},
        ],
    },
    "campaign.phase_opened": {"campaign_id": CAMPAIGN, "phase": "survey_grading"},
    "campaign.phase_closed": {"campaign_id": CAMPAIGN, "phase": "survey_grading"},
    "org.branch_registered": {
        "branch_id": "610526-edu-0007",
        "name": "蒲城县城关中学党支部",
        "kind": "branch",
        "parent_id": "610526-edu-committee",
        "unit": "蒲城县城关中学",
        "township": "城关镇",
        "secretary": {"name": "王建国", "email": "wangjianguo@example.org"},
        "member_count": 23,
    },
    "grading.self_evaluated": {
        "branch_id": "610526-edu-0007",
        "round": "initial",
        "scores": SCORES,
    },
    "grading.appraised": {
        "branch_id": "610526-edu-0007",
        "round": "initial",
        "raters": 41,
        "scores": SCORES,
    },
    "grading.superior_rated": {
        "branch_id": "610526-edu-0007",
        "round": "initial",
        "rater_org_id": "610526-edu-committee",
        "scores": SCORES,
    },
    "grading.result_corrected": {
        "branch_id": "610526-edu-0007",
        "round": "initial",
        "level": "average",
        "reason": "复核发现自评材料不实",
        "corrected_by_org_id": "610526-edu-committee",
    },
    "grading.branch_graded": {
        "branch_id": "610526-edu-0007",
        "round": "initial",
        "level": "fairly_strong",
        "total": 83.8,
        "scores": SCORES,
        "basis": "computed",
    },
    "grading.branch_incomplete": {
        "branch_id": "610526-edu-0007",
        "round": "initial",
        "missing": ["appraisal"],
    },
    "grading.results_published": {
        "campaign_id": CAMPAIGN,
        "round": "initial",
        "counts": {"strong": 30, "fairly_strong": 61, "average": 48, "weak": 9},
        "incomplete": 4,
    },
    "rectification.problem_listed": {
        "branch_id": "610526-edu-0007",
        "problem_id": "p-1",
        "description": "党员活动室设施陈旧",
        "source": "public",
        "needs_superior": True,
    },
    "rectification.commitment_published": {
        "branch_id": "610526-edu-0007",
        "commitment_id": "c-0007",
        "revision": 1,
        "tasks": [
            {
                "task_id": "t-1",
                "problem_id": "p-1",
                "title": "更新党员活动室",
                "responsible": "王建国",
                "requirement": "六月底前完成",
                "measures": "申请经费、统一采购",
                "deadline": "2012-06-30",
                "kind": "gradual",
            }
        ],
    },
    "rectification.commitment_reviewed": {
        "branch_id": "610526-edu-0007",
        "commitment_id": "c-0007",
        "revision": 1,
        "decision": "returned",
        "guidance": "请细化整改措施",
        "reviewer_org_id": "610526-edu-committee",
    },
    "rectification.task_progressed": {
        "branch_id": "610526-edu-0007",
        "task_id": "t-1",
        "percent": 50,
    },
    "rectification.task_completed": {
        "branch_id": "610526-edu-0007",
        "task_id": "t-1",
        "evidence": "验收记录",
    },
    "rectification.task_overdue": {
        "branch_id": "610526-edu-0007",
        "task_id": "t-1",
        "deadline": "2012-06-30",
        "responsible": "王建国",
    },
    "rectification.problem_escalated": {
        "branch_id": "610526-edu-0007",
        "problem_id": "p-1",
        "to_org_id": "610526-edu-committee",
    },
    "rectification.commitment_missing": {"branch_id": "610526-edu-0007", "due": "2012-05-01"},
    "rectification.branch_settled": {
        "branch_id": "610526-edu-0007",
        "tasks_total": 5,
        "tasks_completed": 4,
        "tasks_overdue": 1,
        "completion_rate": 0.8,
    },
    "rectification.problem_resolved": {
        "branch_id": "610526-edu-0007",
        "problem_id": "p-1",
        "evidence": "党员活动室已更新桌椅和电教设备，验收记录见附件",
    },
    "rectification.problem_deferred": {
        "branch_id": "610526-edu-0007",
        "problem_id": "p-2",
        "reason": "需随校舍改造一并解决，列入下年度计划",
    },
    "rectification.escalation_answered": {
        "branch_id": "610526-edu-0007",
        "problem_id": "p-1",
        "answered_by_org_id": "610526-edu-committee",
        "answer": "accepted",
        "action": "局党委统筹专项经费，协调更新活动室设施",
        "due": "2012-06-20",
    },
    "rectification.problem_updated": {
        "branch_id": "610526-edu-0007",
        "problem_id": "p-1",
        "status": "in_rectification",
        "task_id": "t-1",
        "escalation": {
            "to_org_id": "610526-edu-committee",
            "answer": "accepted",
            "action": "局党委统筹专项经费，协调更新活动室设施",
            "due": "2012-06-20",
        },
    },
    "rectification.escalation_overdue": {
        "branch_id": "610526-edu-0007",
        "problem_id": "p-1",
        "to_org_id": "610526-edu-committee",
        "due": "2012-05-10",
    },
    "rectification.review_overdue": {
        "branch_id": "610526-edu-0007",
        "commitment_id": "c-0007",
        "revision": 1,
        "reviewer_org_id": "610526-edu-committee",
        "due": "2012-05-08",
    },
    "emulation.commended": {
        "branch_id": "610526-edu-0007",
        "honour": "advanced_organization",
        "title": "局党委“七一”创先争优专项表彰",
        "awarded_by": "610526-edu-committee",
        "awarded_on": "2012-07-01",
    },
    "emulation.publicized": {
        "branch_id": "610526-edu-0007",
        "title": "城关中学党支部：党员先锋岗进课堂",
        "channel": "education_website",
        "channel_name": "蒲城教育网“创先争优”专栏",
        "published_on": "2012-07-20",
    },
    "emulation.learning_meeting_held": {
        "branch_id": "610526-edu-0007",
        "held_on": "2012-07-25",
        "target_level": "strong",
        "learned_from": ["蒲城县尧山中学党支部"],
        "summary": "对照先进找差距，确定争先进位目标为“强”。",
    },
    "emulation.activity_reported": {
        "branch_id": "610526-edu-0007",
        "kind": "village_visit",
        "title": "在职党员进村入户",
        "held_on": "2012-07-12",
    },
    "assessment.branch_reviewed": {
        "branch_id": "610526-edu-0007",
        "score": 86,
        "process_solid": True,
        "problems_solved": True,
        "advance_visible": True,
    },
    "assessment.summary_reviewed": {
        "branch_id": "610526-edu-0007",
        "process_solid": {"answer": "yes", "text": "四个阶段按时推进，资料齐全。"},
        "problems_solved": {"answer": "partly", "text": "三个突出问题解决两个，一个逐步整改中。"},
        "advance_evident": {"answer": "yes", "text": "由“一般”晋位为“较强”。"},
    },
    "assessment.committee_assessed": {
        "branch_id": "610526-edu-0007",
        "score": 88,
        "level": "fairly_strong",
        "comment": "整改扎实，群众满意度明显提高。",
    },
    "assessment.duty_reported": {
        "org_id": "610526-edu-committee",
        "reporter_name": "李明",
        "reported_to": "中共蒲城县委",
        "reported_on": "2012-09-10",
        "document_ref": "蒲教党发〔2012〕21号",
    },
    "assessment.org_appraised": {
        "org_id": "610526-edu-committee",
        "groups": [
            {"group": "branches", "satisfied": 46, "basically_satisfied": 3, "dissatisfied": 1},
            {
                "group": "public_representatives",
                "satisfied": 18,
                "basically_satisfied": 2,
                "dissatisfied": 0,
            },
        ],
    },
    "assessment.annual_reviewed": {
        "org_id": "610526-edu-committee",
        "year": 2012,
        "grade": "excellent",
    },
    "assessment.rule_established": {
        "org_id": "610526-edu-0007",
        "title": "党员承诺践诺制度",
        "adopted_on": "2012-09-20",
        "document_ref": "城中党发〔2012〕5号",
    },
    "supervision.inspected": {
        "inspection_id": "insp-2012-05-0007",
        "org_id": "610526-edu-0007",
        "mode": "unannounced",
        "inspected_on": "2012-05-18",
        "inspectors": ["张卫东", "刘芳"],
        "checked": "整改方案落实情况、整改台账、党员承诺践诺记录",
        "findings": [
            {"kind": "leadership_attention", "text": "支部书记未按期主持专题研究，整改台账缺失。"}
        ],
    },
    "supervision.progress_reported": {
        "org_id": "610526-edu-0007",
        "reported_on": "2012-05-14",
        "summary": "已完成整改任务3项，其余2项按计划推进。",
    },
    "supervision.circular_requested": {
        "campaign_id": CAMPAIGN,
        "request_id": "req-2012-05-20-1",
        "requested_by": "刘芳",
    },
    "supervision.circular_edited": {
        "circular_id": "circular-610526-2012-w21",
        "action": "edit",
        "item_id": "criticism-610526-edu-0007",
        "text": "城关中学党支部领导重视不够，整改台账缺失，限期一周内整改。",
        "edited_by": "刘芳",
    },
    "supervision.circular_signed": {
        "circular_id": "circular-610526-2012-w21",
        "signed_by": "李明",
    },
    "supervision.circular_discarded": {
        "circular_id": "circular-610526-2012-w22",
        "discarded_by": "李明",
        "reason": "本周情况已在会上通报，不再另行发文。",
    },
    "notification.circular_drafted": {
        "circular_id": "circular-610526-2012-w21",
        "trigger": "weekly",
        "title": "关于基层组织建设年活动进展情况的通报",
        "items": [
            {
                "item_id": "criticism-610526-edu-0007",
                "section": "criticism",
                "org_id": "610526-edu-0007",
                "basis": "leadership_attention",
                "text": "蒲城县城关中学党支部：领导重视不够，整改台账缺失。",
            }
        ],
    },
    "notification.circular_issued": {
        "circular_id": "circular-610526-2012-w21",
        "issuing_body": "中共蒲城县教育局委员会办公室",
        "year": 2012,
        "number": 1,
        "document_number": "蒲教党办〔2012〕1号",
        "signed_by": "李明",
        "recipients": 150,
    },
    "notification.delivered": {
        "notification_id": "n-1",
        "kind": "grading_result",
        "channel": "email",
        "recipient": "wangjianguo@example.org",
        "cause_event_id": "e-1",
        "attempts": 1,
    },
    "notification.failed": {
        "notification_id": "n-2",
        "kind": "grading_result",
        "channel": "webhook",
        "recipient": "county-office",
        "cause_event_id": "e-1",
        "attempts": 5,
        "error": "HTTP 503",
    },
}


def envelope(
    event_type: str,
    data: dict[str, Any] | None = None,
    *,
    campaign_id: str = CAMPAIGN,
    county: str = COUNTY,
    source: str = OFFICE_SOURCE,
    event_id: str | None = None,
    time: dt.datetime | None = None,
) -> dict[str, Any]:
    """A complete CloudEvent as a JSON-ready dict; `data` defaults to the type's example."""
    payload = copy.deepcopy(DATA[event_type] if data is None else data)
    subject_field = EVENTS[event_type].envelope_model.subject_field
    if "campaign_id" in EVENTS[event_type].data_model.model_fields:
        payload["campaign_id"] = campaign_id
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": event_type,
        "time": (time or dt.datetime(2012, 3, 20, 8, 0, tzinfo=CST)).isoformat(),
        "subject": payload[subject_field],
        "countycode": county,
        "datacontenttype": "application/json",
        "data": payload,
    }
    if EVENTS[event_type].envelope_model.campaign_scoped:
        event["campaignid"] = campaign_id
    return event
