-- 2026-11-29, issue 15: the committee's assessment of a branch (局党委评估,
-- assessment.committee_assessed), weighed into the final round when the campaign sets
-- assessment_weight. One row per campaign and branch: the latest by event time, ties by the
-- greater event id, so arrival order does not matter. Kept for any branch id: a branch never
-- registered is reported at the round, as for the other inputs.
CREATE TABLE assessments (
    campaign_id   text NOT NULL,
    branch_id     text NOT NULL,
    score         numeric NOT NULL CHECK (score BETWEEN 0 AND 100),
    level         text,
    comment       text,
    event_id      text NOT NULL,
    event_time    timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, branch_id)
);
