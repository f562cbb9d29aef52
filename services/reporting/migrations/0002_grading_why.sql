-- Why each round's level is what it is (issue 13), and which rounds' results are published.
-- Every column is set from grading.branch_graded as it came: the level alone is never enough
-- for a branch secretary to understand it or for the office to defend it.

ALTER TABLE cards
    ADD COLUMN initial_computed_level  text,        -- before override, veto, quota, upgrade cap
    ADD COLUMN initial_override_reason text,
    ADD COLUMN initial_veto_reason     text,
    ADD COLUMN initial_quota_limited   boolean NOT NULL DEFAULT false,
    ADD COLUMN initial_upgrade_capped  boolean NOT NULL DEFAULT false,
    ADD COLUMN initial_completion_rate numeric,
    ADD COLUMN initial_settled         boolean,
    ADD COLUMN initial_supplementary   boolean NOT NULL DEFAULT false,  -- 补充定级
    ADD COLUMN initial_corrected       boolean NOT NULL DEFAULT false,
    ADD COLUMN initial_rules           jsonb,       -- the rules applied, in order (AppliedRule)
    ADD COLUMN final_computed_level    text,
    ADD COLUMN final_override_reason   text,
    ADD COLUMN final_veto_reason       text,
    ADD COLUMN final_quota_limited     boolean NOT NULL DEFAULT false,
    ADD COLUMN final_upgrade_capped    boolean NOT NULL DEFAULT false,
    ADD COLUMN final_completion_rate   numeric,
    ADD COLUMN final_settled           boolean,
    ADD COLUMN final_supplementary     boolean NOT NULL DEFAULT false,
    ADD COLUMN final_corrected         boolean NOT NULL DEFAULT false,
    ADD COLUMN final_rules             jsonb;

-- A round whose results grading published (grading.results_published): from then on its
-- levels are announced to every organisation of the county (定级结果在一定范围内公布, 公示).
CREATE TABLE published_rounds (
    campaign_id    text NOT NULL,
    round          text NOT NULL,
    published_at   timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, round)
);
