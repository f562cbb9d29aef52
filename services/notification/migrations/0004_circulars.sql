-- Supervision and signed circulars (issue 16): inspections and progress reports are kept, the
-- platform drafts circulars (通报), the office edits them and a person signs them off; only a
-- signed circular is numbered and sent.

-- The campaign's rules for it (campaign.launched); NULL: the defaults (3 and 14 days).
ALTER TABLE campaigns
    ADD COLUMN circular_sign_off_days     integer,
    ADD COLUMN progress_report_every_days integer;

-- Inspections by the Party office (supervision.inspected), each event once. The latest one of
-- an organisation (inspected_on, then event time, then id) says whether it is lagging.
CREATE TABLE inspections (
    cause_source    text NOT NULL,
    cause_event_id  text NOT NULL,
    campaign_id     text NOT NULL,
    county_code     text NOT NULL,
    org_id          text NOT NULL,
    inspection_id   text NOT NULL,
    mode            text NOT NULL,
    inspected_on    date NOT NULL,
    event_time      timestamptz NOT NULL,
    findings        jsonb NOT NULL,  -- [{"kind", "text"}]
    praised_in      text,            -- the signed circular whose praise named its commendable findings
    PRIMARY KEY (cause_source, cause_event_id)
);
CREATE INDEX inspections_latest ON inspections (campaign_id, org_id, inspected_on, event_time);

-- Progress reports (supervision.progress_reported), each event once: who reported, and when.
CREATE TABLE progress_reports (
    cause_source    text NOT NULL,
    cause_event_id  text NOT NULL,
    campaign_id     text NOT NULL,
    county_code     text NOT NULL,
    org_id          text NOT NULL,
    reported_on     date NOT NULL,
    PRIMARY KEY (cause_source, cause_event_id)
);
CREATE INDEX progress_reports_by_org ON progress_reports (campaign_id, org_id, reported_on);

-- A committee's commendation is praised in a circular until one that names it is signed.
ALTER TABLE commendations ADD COLUMN praised_in text;

-- `circulars` (period:<n>, close:<phase>) stays the record of when a circular was due; its
-- `issued` now means the draft was made (or there was nothing to draft).

-- The circulars drafted: `draft` until the office signs it off (then `issued`, numbered and
-- sent in the same transaction) or discards it (never sent).
CREATE TABLE circular_documents (
    circular_id      text PRIMARY KEY,
    campaign_id      text NOT NULL,
    county_code      text NOT NULL,
    trigger          text NOT NULL
                     CHECK (trigger IN ('weekly', 'phase_close', 'on_demand', 'commendation')),
    title            text NOT NULL,
    as_of            date NOT NULL,          -- the county day it was drafted on
    status           text NOT NULL CHECK (status IN ('draft', 'issued', 'discarded')),
    drafted_at       timestamptz NOT NULL,
    reminded_at      timestamptz,            -- the office was reminded to sign it off
    signed_by        text,
    signed_at        timestamptz,            -- the sign-off event's time
    issuing_body     text,
    year             integer,
    number           integer,
    document_number  text,
    recipients       integer,
    issued_at        timestamptz,
    discarded_by     text,
    discarded_at     timestamptz,
    discard_reason   text,
    UNIQUE (county_code, year, number)       -- a number is never used twice
);
CREATE INDEX circular_documents_to_remind ON circular_documents (drafted_at)
    WHERE status = 'draft' AND reminded_at IS NULL;

-- The items of a circular as the office edited them (the text as drafted kept beside).
CREATE TABLE circular_items (
    circular_id     text NOT NULL REFERENCES circular_documents ON DELETE CASCADE,
    item_id         text NOT NULL,
    position        integer NOT NULL,
    section         text NOT NULL CHECK (section IN ('praise', 'criticism')),
    org_id          text NOT NULL,
    basis           text NOT NULL,
    text            text NOT NULL,
    drafted_text    text,                    -- NULL: added by the office
    sources         jsonb NOT NULL DEFAULT '[]',  -- praise: the inspections and commendations named
    changed_by      text,
    changed_at      timestamptz,
    removed_reason  text,                    -- set: removed by the office (not sent)
    added_reason    text,
    PRIMARY KEY (circular_id, item_id)
);

-- The last document number of each county and year: taken under this row's lock in the
-- transaction that issues the circular, so two sign-offs never get the same number.
CREATE TABLE circular_numbers (
    county_code  text NOT NULL,
    year         integer NOT NULL,
    last_number  integer NOT NULL,
    PRIMARY KEY (county_code, year)
);

-- A sign-off refused because the county has no issuing body (DLQ) is told to the office by the
-- sweep, which finds it in the consumer's inbox table (the refusal rolled back everything else).
CREATE INDEX inbox_refused_sign_offs ON inbox (received_at)
    WHERE type = 'supervision.circular_signed' AND outcome = 'rejected';
