-- What the notification service knows of campaigns and organisations, to address and time notices.
CREATE TABLE campaigns (
    campaign_id          text PRIMARY KEY,
    county_code          text NOT NULL,
    name                 text,
    reminder_days        integer[],      -- rules.reminder_days_before_close; NULL: the setting
    commitment_due_days  integer NOT NULL DEFAULT 15
);

-- Planned windows (campaign.launched) and actual boundaries (phase_opened / phase_closed).
CREATE TABLE phases (
    campaign_id   text NOT NULL,
    phase         text NOT NULL,
    opens_on      date,
    closes_on     date,
    opened_at     timestamptz,
    closed_at     timestamptz,
    PRIMARY KEY (campaign_id, phase)
);
CREATE INDEX phases_open ON phases (campaign_id) WHERE opened_at IS NOT NULL AND closed_at IS NULL;

CREATE TABLE orgs (
    org_id          text PRIMARY KEY,
    county_code     text NOT NULL,
    kind            text NOT NULL,
    name            text NOT NULL,
    parent_id       text,
    secretary_name  text NOT NULL,
    secretary_email text
);
CREATE INDEX orgs_by_county ON orgs (county_code, kind);

-- Commitments published (a branch that has one is not reminded; its "missing" is resolved).
CREATE TABLE commitments (
    campaign_id   text NOT NULL,
    branch_id     text NOT NULL,
    revision      integer NOT NULL,
    PRIMARY KEY (campaign_id, branch_id)
);

-- Tasks: titles from commitments, overdue from rectification, completion from the branch.
CREATE TABLE tasks (
    campaign_id   text NOT NULL,
    branch_id     text NOT NULL,
    task_id       text NOT NULL,
    county_code   text NOT NULL,
    title         text,
    responsible   text,
    deadline      date,
    overdue       boolean NOT NULL DEFAULT false,
    completed_at  timestamptz,
    escalated_at  timestamptz,     -- set once the escalation to the parent was planned
    PRIMARY KEY (campaign_id, branch_id, task_id)
);
CREATE INDEX tasks_to_escalate ON tasks (deadline)
    WHERE overdue AND completed_at IS NULL AND escalated_at IS NULL;

-- Why a branch is lagging, one row per fact: named in circulars until resolved.
CREATE TABLE lagging_facts (
    campaign_id   text NOT NULL,
    branch_id     text NOT NULL,
    reason        text NOT NULL CHECK (reason IN ('task_overdue', 'commitment_missing',
                                                  'grading_incomplete')),
    fact_key      text NOT NULL,   -- task id, round, or '' for the missing commitment
    detail        jsonb NOT NULL,
    noted_at      timestamptz NOT NULL,
    resolved_at   timestamptz,
    PRIMARY KEY (campaign_id, branch_id, reason, fact_key)
);

-- Time-driven notices already issued: a second sweep finds its key and issues nothing.
CREATE TABLE reminders (
    campaign_id   text NOT NULL,
    reminder_key  text NOT NULL,   -- phase_closing:<phase>:<days>, commitment_due:<days>
    sent          boolean NOT NULL, -- false: passed over for a nearer reminder due at once
    decided_at    timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, reminder_key)
);

-- Circulars (通报): periodic ones are issued by the sweep; one at each phase close waits,
-- behind the barrier, for the results the close produces (rounds, settlements) to arrive.
CREATE TABLE circulars (
    campaign_id   text NOT NULL,
    circular_key  text NOT NULL,   -- period:<n> or close:<phase>
    status        text NOT NULL CHECK (status IN ('waiting', 'issued')),
    end_offsets   jsonb,
    triggered_at  timestamptz NOT NULL,
    issued_at     timestamptz,
    named         integer,
    PRIMARY KEY (campaign_id, circular_key)
);
CREATE INDEX circulars_waiting ON circulars (triggered_at) WHERE status = 'waiting';

-- Every notification: (cause, recipient, channel) delivered at most once in effect.
CREATE TABLE deliveries (
    notification_id  text PRIMARY KEY,   -- uuid5 of the key below
    cause_source     text NOT NULL,
    cause_event_id   text NOT NULL,
    recipient        text NOT NULL,      -- email address (org id if none), endpoint name, org id
    channel          text NOT NULL CHECK (channel IN ('email', 'webhook', 'inbox')),
    kind             text NOT NULL,
    county_code      text NOT NULL,
    campaign_id      text,
    branch_id        text,
    address          text,               -- email address or URL; NULL: nowhere to send
    subject          text NOT NULL,
    body             text NOT NULL,      -- plain text; a webhook's exact JSON document
    html             text,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,
    claimed_by       text,               -- the consumer instance id that holds the lease
    claim_token      text,               -- that process's token
    last_error       text,
    planned_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at      timestamptz,
    UNIQUE (cause_source, cause_event_id, recipient, channel)
);
CREATE INDEX deliveries_due ON deliveries (channel, next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (channel, lease_until) WHERE status = 'sending';

-- The inbox (站内信) of each organisation, served by GET /v1/inbox/{branch_id}.
CREATE TABLE inbox_messages (
    seq           bigserial,
    message_id    text PRIMARY KEY,      -- the notification_id
    org_id        text NOT NULL,
    county_code   text NOT NULL,
    campaign_id   text,
    kind          text NOT NULL,
    subject       text NOT NULL,
    body          text NOT NULL,
    created_at    timestamptz NOT NULL,  -- on the service clock
    read_at       timestamptz
);
CREATE INDEX inbox_messages_by_org ON inbox_messages (org_id, seq DESC);
CREATE INDEX inbox_messages_unread ON inbox_messages (org_id, seq DESC) WHERE read_at IS NULL;
