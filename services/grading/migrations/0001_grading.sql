-- Campaigns as launched (rules as sent; defaults are applied by the domain when computing).
CREATE TABLE campaigns (
    campaign_id  text PRIMARY KEY,
    county_code  text NOT NULL,
    name         text,
    rules        jsonb,
    launched_at  timestamptz
);

-- Organisations of every county; committees are kept (they are parents) but never graded.
CREATE TABLE branches (
    branch_id    text PRIMARY KEY,
    county_code  text NOT NULL,
    kind         text NOT NULL,
    name         text NOT NULL,
    parent_id    text
);
CREATE INDEX branches_by_county ON branches (county_code) WHERE kind <> 'committee';

-- A round's life: open (inputs replace earlier ones) → closing (phase closed, waiting for the
-- consumer to pass the topics' end offsets taken at close) → computed (results published).
CREATE TABLE rounds (
    campaign_id   text NOT NULL,
    round         text NOT NULL CHECK (round IN ('initial', 'final')),
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closing', 'computed')),
    county_code   text,
    close_event_id text,
    closed_at     timestamptz,
    end_offsets   jsonb,
    computed_at   timestamptz,
    compute_seconds double precision,
    PRIMARY KEY (campaign_id, round)
);
CREATE INDEX rounds_closing ON rounds (status) WHERE status = 'closing';

-- The current input of each kind per branch and round; a later one replaces it until computed.
CREATE TABLE inputs (
    campaign_id   text NOT NULL,
    branch_id     text NOT NULL,
    round         text NOT NULL,
    source        text NOT NULL CHECK (source IN ('self', 'appraisal', 'superior')),
    leadership    numeric NOT NULL,
    membership    numeric NOT NULL,
    mechanism     numeric NOT NULL,
    performance   numeric NOT NULL,
    reputation    numeric NOT NULL,
    raters        integer,
    rater_org_id  text,
    override_level text,
    override_reason text,
    veto_reason   text,
    event_id      text NOT NULL,
    event_time    timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, round, branch_id, source)
);

-- Inputs that arrived after their round was computed: kept, never applied silently.
CREATE TABLE late_inputs (
    campaign_id   text NOT NULL,
    branch_id     text NOT NULL,
    round         text NOT NULL,
    event_type    text NOT NULL,
    event_id      text NOT NULL,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX late_inputs_by_round ON late_inputs (campaign_id, round);

-- Rectification settlements, for the final round's upgrade rule.
CREATE TABLE settlements (
    campaign_id     text NOT NULL,
    branch_id       text NOT NULL,
    completion_rate numeric NOT NULL,
    PRIMARY KEY (campaign_id, branch_id)
);

-- Published results: one row per branch and round (a correction replaces the row's level).
CREATE TABLE results (
    campaign_id   text NOT NULL,
    round         text NOT NULL,
    branch_id     text NOT NULL,
    level         text,
    total         numeric,
    scores        jsonb,
    missing       text[],
    basis         text,
    event_id      text NOT NULL,
    PRIMARY KEY (campaign_id, round, branch_id)
);
