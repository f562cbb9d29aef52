-- The superior's duty (加强具体指导): escalated problems it must answer, plans it must review.

-- The campaign's days for the superior (rules.escalation_answer_days, rules.review_due_days);
-- NULL: the default (10 and 5 days).
ALTER TABLE campaigns
    ADD COLUMN escalation_answer_days integer,
    ADD COLUMN review_due_days        integer;

-- A superior that has not answered or reviewed in time is lagging too: `branch_id` is then
-- the superior (the lagging organisation), `fact_key` is <branch>|<problem> or
-- <branch>|<revision>, and `detail` names the branch the fact is about.
ALTER TABLE lagging_facts DROP CONSTRAINT lagging_facts_reason_check;
ALTER TABLE lagging_facts ADD CONSTRAINT lagging_facts_reason_check
    CHECK (reason IN ('task_overdue', 'commitment_missing', 'grading_incomplete',
                      'escalation_unanswered', 'review_overdue'));

-- Problems listed (rectification.problem_listed) and their escalation to the superior
-- (rectification.problem_escalated, its cause kept): the superior is told once both are here,
-- whichever comes first, under the escalation's key.
CREATE TABLE problems (
    campaign_id          text NOT NULL,
    branch_id            text NOT NULL,
    problem_id           text NOT NULL,
    county_code          text NOT NULL,
    description          text,            -- NULL: escalated, not listed here yet
    source               text,
    escalated_to         text,
    escalation_source    text,
    escalation_event_id  text,
    escalated_at         timestamptz,
    PRIMARY KEY (campaign_id, branch_id, problem_id)
);

-- The latest revision of each branch's plan that was reviewed: a review_overdue about it (or an
-- older one) that arrives after the review (a result can trail the input) is stale.
CREATE TABLE reviews (
    campaign_id        text NOT NULL,
    branch_id          text NOT NULL,
    reviewed_revision  integer NOT NULL,
    PRIMARY KEY (campaign_id, branch_id)
);
