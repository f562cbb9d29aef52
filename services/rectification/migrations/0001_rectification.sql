-- Campaign plan and actual boundaries of the rectification phase.
CREATE TABLE campaigns (
    campaign_id          text PRIMARY KEY,
    county_code          text NOT NULL,
    starts_on            date,          -- first planned day of the campaign
    ends_on              date,          -- last planned day
    commitment_due_days  integer NOT NULL DEFAULT 15,
    rectification_opened_at timestamptz,
    -- open → closing (phase closed, waiting for the barrier) → settled
    settlement           text NOT NULL DEFAULT 'open'
                         CHECK (settlement IN ('open', 'closing', 'settled')),
    closed_at            timestamptz,
    end_offsets          jsonb,
    settled_at           timestamptz
);
CREATE INDEX campaigns_closing ON campaigns (settlement) WHERE settlement = 'closing';

CREATE TABLE branches (
    branch_id     text PRIMARY KEY,
    county_code   text NOT NULL,
    kind          text NOT NULL,
    name          text NOT NULL,
    parent_id     text
);
CREATE INDEX branches_by_county ON branches (county_code) WHERE kind <> 'committee';

-- Levels published by grading, so the weakest branches are named first.
CREATE TABLE levels (
    campaign_id   text NOT NULL,
    branch_id     text NOT NULL,
    round         text NOT NULL,
    level         text NOT NULL,
    PRIMARY KEY (campaign_id, branch_id, round)
);

CREATE TABLE problems (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    county_code    text NOT NULL,
    problem_id     text NOT NULL,
    description    text NOT NULL,
    source         text NOT NULL,
    needs_superior boolean NOT NULL,
    escalated_to   text,           -- set once problem_escalated was emitted
    listed_at      timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, branch_id, problem_id)
);
CREATE INDEX problems_awaiting_escalation ON problems (branch_id)
    WHERE needs_superior AND escalated_to IS NULL;

-- The branch's public commitment: its latest revision and its review.
CREATE TABLE commitments (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    commitment_id  text NOT NULL,
    revision       integer NOT NULL,
    published_at   timestamptz NOT NULL,
    review         text NOT NULL DEFAULT 'pending' CHECK (review IN ('pending', 'approved', 'returned')),
    PRIMARY KEY (campaign_id, branch_id)
);

-- Every revision and every review decision, kept: who decided, when, on which revision.
CREATE TABLE commitment_history (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    commitment_id  text NOT NULL,
    revision       integer NOT NULL,
    action         text NOT NULL CHECK (action IN ('published', 'approved', 'returned')),
    actor          text,           -- reviewer_org_id for reviews
    guidance       text,
    tasks          jsonb,
    event_id       text NOT NULL,
    happened_at    timestamptz NOT NULL
);
CREATE INDEX commitment_history_by_branch ON commitment_history (campaign_id, branch_id);

-- Tasks of the latest revision (tasks dropped by a later revision are deleted).
CREATE TABLE tasks (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    county_code    text NOT NULL,
    task_id        text NOT NULL,
    commitment_id  text NOT NULL,
    revision       integer NOT NULL,
    problem_id     text,
    title          text NOT NULL,
    responsible    text NOT NULL,
    requirement    text NOT NULL,
    measures       text NOT NULL,
    deadline       date NOT NULL,
    kind           text NOT NULL,
    percent        integer NOT NULL DEFAULT 0,
    completed_at   timestamptz,
    evidence       text,
    overdue_at     timestamptz,    -- set once task_overdue was emitted
    PRIMARY KEY (campaign_id, branch_id, task_id)
);
CREATE INDEX tasks_open_by_deadline ON tasks (deadline)
    WHERE completed_at IS NULL AND overdue_at IS NULL;

-- Progress reports, including the reason when a percent went down.
CREATE TABLE task_progress (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    task_id        text NOT NULL,
    percent        integer NOT NULL,
    note           text,
    event_id       text NOT NULL,
    reported_at    timestamptz NOT NULL
);

-- Branches named for a missing commitment (once per campaign).
CREATE TABLE missing_commitments (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    due            date NOT NULL,
    named_at       timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, branch_id)
);

CREATE TABLE settlements (
    campaign_id     text NOT NULL,
    branch_id       text NOT NULL,
    tasks_total     integer NOT NULL,
    tasks_completed integer NOT NULL,
    tasks_overdue   integer NOT NULL,
    completion_rate numeric NOT NULL,
    PRIMARY KEY (campaign_id, branch_id)
);
