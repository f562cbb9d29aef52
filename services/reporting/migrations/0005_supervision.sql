-- Supervision (issue 16): the Party office's inspections (督查) and the organisations' progress
-- reports (工作进展情况), each kept once per event. Who is lagging for them is derived on read,
-- so arrival order does not matter: an organisation whose latest inspection (greatest
-- inspected_on, then event time, then event id) has critical findings; one that has not
-- reported for a period whose due date has passed by the service's clock.

-- The launch's rules as sent (absent ones take their defaults), e.g. progress_report_every_days.
-- Campaigns launched before this migration have none until a rebuild.
ALTER TABLE campaigns ADD COLUMN rules jsonb NOT NULL DEFAULT '{}';

-- supervision.inspected: every inspection, once per event.
CREATE TABLE inspections (
    campaign_id    text NOT NULL,
    org_id         text NOT NULL,
    event_id       text NOT NULL,
    event_time     timestamptz NOT NULL,
    inspection_id  text NOT NULL,
    mode           text NOT NULL,            -- scheduled | unannounced
    inspected_on   date NOT NULL,
    inspectors     text[] NOT NULL,
    checked        text NOT NULL,
    findings       jsonb NOT NULL,           -- [{"kind": …, "text": …}] as sent
    PRIMARY KEY (campaign_id, org_id, event_id)
);
-- The campaign's inspections, newest first.
CREATE INDEX inspections_newest ON inspections (campaign_id, inspected_on DESC, event_time DESC);

-- supervision.progress_reported: every report, once per event.
CREATE TABLE progress_reports (
    campaign_id    text NOT NULL,
    org_id         text NOT NULL,
    event_id       text NOT NULL,
    reported_on    date NOT NULL,
    summary        text NOT NULL,
    document_ref   text,
    PRIMARY KEY (campaign_id, org_id, event_id)
);
