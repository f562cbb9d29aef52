-- Problems followed through: each problem's life cycle and the superior's answer, reviews and
-- answers that wait too long, gradual tasks on track at settlement.

-- The campaign's rules for the superior and for gradual tasks.
ALTER TABLE campaigns
    ADD COLUMN escalation_answer_days integer NOT NULL DEFAULT 10,
    ADD COLUMN review_due_days        integer NOT NULL DEFAULT 5,
    ADD COLUMN gradual_horizon        date;  -- NULL: the campaign's last day (ends_on)

-- open → in_rectification (a task of the approved plan names it) → resolved, or deferred.
ALTER TABLE problems
    ADD COLUMN status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'in_rectification', 'resolved', 'deferred')),
    ADD COLUMN task_id          text,         -- the task of the approved plan naming it
    ADD COLUMN evidence         text,         -- resolved: how
    ADD COLUMN reason           text,         -- deferred: why
    ADD COLUMN escalated_at     timestamptz,  -- when problem_escalated was emitted
    ADD COLUMN answer           text CHECK (answer IN ('accepted', 'resolved', 'cannot_resolve')),
    ADD COLUMN answer_action    text,
    ADD COLUMN answer_due       date,
    ADD COLUMN answer_evidence  text,
    ADD COLUMN answer_reason    text,
    ADD COLUMN answered_at      timestamptz,
    ADD COLUMN escalation_overdue_at timestamptz;  -- set once escalation_overdue was emitted

-- Escalations made before the superior could answer get their days from now.
UPDATE problems SET escalated_at = now() WHERE escalated_to IS NOT NULL;

-- Problems named by a task of an approved plan are being rectified.
UPDATE problems p SET status = 'in_rectification', task_id = named.task_id
FROM (SELECT t.campaign_id, t.branch_id, t.problem_id, min(t.task_id) AS task_id
      FROM tasks t
      JOIN commitments c ON c.campaign_id = t.campaign_id AND c.branch_id = t.branch_id
      WHERE c.review = 'approved' AND t.problem_id IS NOT NULL
      GROUP BY t.campaign_id, t.branch_id, t.problem_id) named
WHERE p.campaign_id = named.campaign_id AND p.branch_id = named.branch_id
  AND p.problem_id = named.problem_id;

CREATE INDEX problems_awaiting_answer ON problems (escalated_at)
    WHERE escalated_to IS NOT NULL AND answer IS NULL AND escalation_overdue_at IS NULL;

-- The revision last named in review_overdue (once per revision).
ALTER TABLE commitments ADD COLUMN review_overdue_revision integer;
CREATE INDEX commitments_pending_review ON commitments (published_at) WHERE review = 'pending';

-- Problems raised by members or the public that the revision left uncovered (neither named by
-- a task nor deferred), and why an approval went ahead anyway.
ALTER TABLE commitment_history
    ADD COLUMN uncovered        jsonb,
    ADD COLUMN uncovered_reason text;

-- Gradual tasks not yet due at the close: neither completed nor failed.
ALTER TABLE settlements ADD COLUMN tasks_on_track integer NOT NULL DEFAULT 0;
