-- Problems followed through (issue 14): where each problem stands and the superior's answer,
-- as rectification.problem_updated says them; every revision of a plan and every review
-- decision; the superiors that let an escalation or a review wait too long (lagging parents);
-- what a settlement says about gradual tasks on track.

ALTER TABLE problems
    ADD COLUMN listed          boolean NOT NULL DEFAULT false,  -- problem_listed came (source real)
    ADD COLUMN status          text,         -- open | in_rectification | resolved | deferred; null: open
    ADD COLUMN task_id         text,         -- the task naming it
    ADD COLUMN evidence        text,         -- resolved: the evidence
    ADD COLUMN deferral_reason text,         -- deferred: the reason
    ADD COLUMN answer          text,         -- the superior's answer: accepted | resolved | cannot_resolve
    ADD COLUMN answer_action   text,
    ADD COLUMN answer_due      date,
    ADD COLUMN answer_evidence text,
    ADD COLUMN answer_reason   text,
    ADD COLUMN answered_at     timestamptz,  -- the update that first carried this answer
    ADD COLUMN updated_at      timestamptz,  -- the latest problem_updated
    ADD COLUMN overdue_to      text,         -- escalation_overdue: the superior that has not answered
    ADD COLUMN overdue_due     date;         -- … and the day its answer was due
-- Rows made by an escalation before the listing have no description.
UPDATE problems SET listed = true WHERE description <> '';
CREATE INDEX problems_unanswered ON problems (campaign_id)
    WHERE overdue_to IS NOT NULL AND answer IS NULL;

-- The summary counters of the problems already there: all open, every escalation waiting.
INSERT INTO counters (campaign_id, name, value)
SELECT campaign_id, name, count(*) FROM (
    SELECT campaign_id, unnest(
        ARRAY['problems:total', 'problems:open']
        || CASE WHEN source IN ('members', 'public') THEN ARRAY['prominent:total']
           ELSE '{}'::text[] END) AS name
    FROM problems WHERE listed
    UNION ALL
    SELECT campaign_id, unnest(ARRAY['escalations:total', 'escalations:waiting'])
    FROM problems WHERE escalated_to IS NOT NULL
) facts
GROUP BY campaign_id, name
ON CONFLICT (campaign_id, name) DO UPDATE SET value = counters.value + EXCLUDED.value;

-- Every revision of a plan that became the branch's commitment, with its tasks as published.
CREATE TABLE plan_revisions (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    revision       integer NOT NULL,
    commitment_id  text NOT NULL,
    published_at   timestamptz NOT NULL,
    tasks          jsonb NOT NULL,           -- [CommitmentTask as JSON], in the published order
    PRIMARY KEY (campaign_id, branch_id, revision)
);

-- Every review decision of the revision current when it came (加强具体指导).
CREATE TABLE plan_reviews (
    campaign_id      text NOT NULL,
    branch_id        text NOT NULL,
    event_id         text NOT NULL,
    revision         integer NOT NULL,
    commitment_id    text NOT NULL,
    decision         text NOT NULL,          -- approved | returned
    reviewer_org_id  text NOT NULL,
    reviewed_at      timestamptz NOT NULL,
    guidance         text,
    uncovered_reason text,                   -- approved with prominent problems uncovered: why
    PRIMARY KEY (campaign_id, branch_id, event_id)
);
CREATE INDEX plan_reviews_by_revision ON plan_reviews (campaign_id, branch_id, revision);

-- rectification.review_overdue: a revision waiting too long for its superior's review. The
-- superior is lagging until a review of that revision or a newer one is in plan_reviews.
CREATE TABLE reviews_overdue (
    campaign_id      text NOT NULL,
    branch_id        text NOT NULL,
    revision         integer NOT NULL,
    commitment_id    text NOT NULL,
    reviewer_org_id  text NOT NULL,
    due              date NOT NULL,
    PRIMARY KEY (campaign_id, branch_id, revision)
);

-- What rectification.branch_settled says besides the rate (tasks_on_track: gradual tasks not
-- yet due at settlement, 逐步整改).
ALTER TABLE cards
    ADD COLUMN settled_total     integer,
    ADD COLUMN settled_completed integer,
    ADD COLUMN settled_overdue   integer,
    ADD COLUMN settled_on_track  integer;
