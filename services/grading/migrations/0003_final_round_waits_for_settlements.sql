-- The final round weighs each branch's rectification settlement (the upgrade rule). When the
-- phases close in quick succession (a campaign published in one go), grading may see the
-- assessment phase close before rectification has settled the branches; the round then waits
-- for them (found in session 5). `rectification_closes`: the campaigns whose rectification
-- phase closed (settlements are coming); `closing_since`: when a round began to close, by the
-- database's clock, to bound that wait if the rectification service is down.
CREATE TABLE rectification_closes (
    campaign_id  text PRIMARY KEY,
    closed_at    timestamptz NOT NULL
);

ALTER TABLE rounds ADD COLUMN closing_since timestamptz;
