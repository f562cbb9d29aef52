-- Phases 3 and 4 as the plan runs them (issue 15). Facts are kept as they came; the "four
-- ones" marks, coverage, satisfaction rates and the 三级联述联评联考 table are derived on read,
-- so arrival order across topics does not matter. Inputs that replace earlier ones (a branch's
-- summary review, the committee's assessment, a rater group's appraisal counts, a year's
-- annual review) keep the one with the latest event time (ties: the greater event id).

-- Commendations name who awarded them and when (absent in older events: not stated / the
-- event's day in county time).
ALTER TABLE commendations
    ADD COLUMN awarded_by  text,
    ADD COLUMN awarded_on  date;
CREATE INDEX commendations_by_campaign ON commendations (campaign_id, awarded_by);

-- emulation.publicized: advanced models in a column (集中宣传).
CREATE TABLE publicity (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    event_id       text NOT NULL,
    member_name    text,
    title          text NOT NULL,
    channel        text NOT NULL,            -- education_website | education_newspaper | own_channel
    channel_name   text,
    published_on   date NOT NULL,
    url            text,
    PRIMARY KEY (campaign_id, branch_id, event_id)
);

-- emulation.learning_meeting_held: 专题组织生活会 (比学赶帮) and the level aimed for.
CREATE TABLE learning_meetings (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    event_id       text NOT NULL,
    held_on        date NOT NULL,
    target_level   text NOT NULL,
    learned_from   text[] NOT NULL DEFAULT '{}',
    summary        text,
    PRIMARY KEY (campaign_id, branch_id, event_id)
);

-- assessment.summary_reviewed: the branch's own summary review (评估小结), the latest kept.
CREATE TABLE summary_reviews (
    campaign_id      text NOT NULL,
    branch_id        text NOT NULL,
    event_id         text NOT NULL,
    reviewed_at      timestamptz NOT NULL,   -- the event's time
    process_answer   text NOT NULL,          -- yes | partly | no
    process_text     text NOT NULL,
    problems_answer  text NOT NULL,
    problems_text    text NOT NULL,
    advance_answer   text NOT NULL,
    advance_text     text NOT NULL,
    PRIMARY KEY (campaign_id, branch_id)
);

-- assessment.committee_assessed: 局党委评估 of a branch, the latest kept.
CREATE TABLE committee_assessments (
    campaign_id    text NOT NULL,
    branch_id      text NOT NULL,
    event_id       text NOT NULL,
    assessed_at    timestamptz NOT NULL,
    score          numeric NOT NULL,
    level          text,
    comment        text,
    PRIMARY KEY (campaign_id, branch_id)
);

-- assessment.duty_reported: 专项述职, every report kept.
CREATE TABLE duty_reports (
    campaign_id    text NOT NULL,
    org_id         text NOT NULL,
    event_id       text NOT NULL,
    reporter_name  text NOT NULL,
    reported_to    text NOT NULL,
    reported_on    date NOT NULL,
    document_ref   text NOT NULL,
    PRIMARY KEY (campaign_id, org_id, event_id)
);

-- assessment.org_appraised: 评议 counts per rater group, the latest per group kept.
CREATE TABLE appraisals (
    campaign_id          text NOT NULL,
    org_id               text NOT NULL,
    rater_group          text NOT NULL,      -- branches | members | public_representatives
    event_id             text NOT NULL,
    appraised_at         timestamptz NOT NULL,
    satisfied            integer NOT NULL,
    basically_satisfied  integer NOT NULL,
    dissatisfied         integer NOT NULL,
    PRIMARY KEY (campaign_id, org_id, rater_group)
);

-- assessment.annual_reviewed: 年度考核 of a leadership team, the latest per year kept.
CREATE TABLE annual_reviews (
    campaign_id    text NOT NULL,
    org_id         text NOT NULL,
    year           integer NOT NULL,
    event_id       text NOT NULL,
    reviewed_at    timestamptz NOT NULL,
    grade          text NOT NULL,            -- excellent | good | fair | poor
    comment        text,
    PRIMARY KEY (campaign_id, org_id, year)
);

-- assessment.rule_established: good practices made standing rules (巩固深化), every one kept.
CREATE TABLE standing_rules (
    campaign_id    text NOT NULL,
    org_id         text NOT NULL,
    event_id       text NOT NULL,
    title          text NOT NULL,
    adopted_on     date NOT NULL,
    document_ref   text,
    summary        text,
    PRIMARY KEY (campaign_id, org_id, event_id)
);

CREATE INDEX activities_by_kind ON activities (campaign_id, kind, branch_id);
