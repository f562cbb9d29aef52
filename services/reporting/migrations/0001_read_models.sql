-- Read models: what the reporting API answers from. Facts are stored as flags and counts from
-- which statuses are derived on read, so the result does not depend on the order in which
-- events of different topics arrive (a rebuild from the topics gives the same answers).

CREATE TABLE campaigns (
    campaign_id    text PRIMARY KEY,
    county_code    text NOT NULL,
    name           text,
    year           integer,
    plan           jsonb,                    -- planned phase windows
    phases         jsonb NOT NULL DEFAULT '{}',  -- {phase: {"opened_at": …, "closed_at": …}}
    updated_at     timestamptz
);
CREATE INDEX campaigns_by_county ON campaigns (county_code);

CREATE TABLE branches (
    branch_id      text PRIMARY KEY,
    county_code    text NOT NULL,
    kind           text NOT NULL,
    name           text NOT NULL,
    unit           text NOT NULL,
    township       text,
    parent_id      text,
    secretary_name text NOT NULL,
    member_count   integer NOT NULL
);
CREATE INDEX branches_by_county ON branches (county_code, branch_id) WHERE kind <> 'committee';
CREATE INDEX branches_by_township ON branches (county_code, township) WHERE kind <> 'committee';

-- Gradable branches per county, kept up to date on registration.
CREATE TABLE county_counts (
    county_code    text PRIMARY KEY,
    branches       integer NOT NULL DEFAULT 0
);

-- One row per branch and campaign: its card, flattened.
CREATE TABLE cards (
    campaign_id        text NOT NULL,
    branch_id          text NOT NULL,
    initial_level      text,
    initial_total      numeric,
    initial_scores     jsonb,
    initial_basis      text,
    initial_missing    text[] NOT NULL DEFAULT '{}',
    final_level        text,
    final_total        numeric,
    final_scores       jsonb,
    final_basis        text,
    final_missing      text[] NOT NULL DEFAULT '{}',
    moved_up           boolean NOT NULL DEFAULT false,
    commitment_id      text,
    commitment_revision integer,
    review             text,                -- pending | approved | returned (latest revision)
    guidance           text,
    commitment_missing boolean NOT NULL DEFAULT false,
    settled_rate       numeric,
    assessment_score   numeric,
    commendations      integer NOT NULL DEFAULT 0,
    activities         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, branch_id)
);
CREATE INDEX cards_by_initial_level ON cards (campaign_id, initial_level, branch_id);
CREATE INDEX cards_by_final_level ON cards (campaign_id, final_level, branch_id);

-- Summary counters per campaign, maintained by deltas as cards change: a few rows to read.
CREATE TABLE counters (
    campaign_id    text NOT NULL,
    name           text NOT NULL,
    value          bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, name)
);

CREATE TABLE problems (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    problem_id     text NOT NULL,
    description    text NOT NULL,
    source         text NOT NULL,
    needs_superior boolean NOT NULL,
    escalated_to   text,
    PRIMARY KEY (campaign_id, branch_id, problem_id)
);

CREATE TABLE tasks (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    task_id        text NOT NULL,
    title          text,
    responsible    text,
    deadline       date,
    kind           text,
    percent        integer NOT NULL DEFAULT 0,
    in_plan        boolean NOT NULL DEFAULT false,  -- in the latest published revision
    completed      boolean NOT NULL DEFAULT false,
    overdue        boolean NOT NULL DEFAULT false,  -- task_overdue was published
    PRIMARY KEY (campaign_id, branch_id, task_id)
);
CREATE INDEX tasks_overdue_open ON tasks (campaign_id, branch_id)
    WHERE overdue AND NOT completed AND in_plan;

CREATE TABLE commendations (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    event_id       text NOT NULL,
    honour         text NOT NULL,
    title          text NOT NULL,
    member_name    text,
    PRIMARY KEY (campaign_id, branch_id, event_id)
);

CREATE TABLE activities (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    event_id       text NOT NULL,
    kind           text NOT NULL,
    title          text NOT NULL,
    held_on        date NOT NULL,
    PRIMARY KEY (campaign_id, branch_id, event_id)
);

-- API tokens, stored as HMAC-SHA256(pepper, token): a leaked table gives no usable token.
CREATE TABLE api_tokens (
    token_hash     text PRIMARY KEY,
    county_code    text NOT NULL,
    branch_id      text,                     -- null: the whole county
    label          text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);
