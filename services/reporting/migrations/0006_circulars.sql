-- Circulars (通报) as the office handles them (issue 16): tokens get a role, the platform's
-- drafts with their items, the office's decisions, and what was issued.

-- reader: reads, as every token did before; office: may also edit, sign off and discard
-- circulars. Tokens are made per person: the label is who decided.
ALTER TABLE api_tokens
    ADD COLUMN role text NOT NULL DEFAULT 'reader' CHECK (role IN ('reader', 'office'));
ALTER TABLE api_tokens
    ADD CONSTRAINT office_tokens_are_county_scoped CHECK (role = 'reader' OR branch_id IS NULL);

-- One row per drafted circular; status draft → signed → issued, or draft → discarded. Writes by
-- the office's API are conditional on status = 'draft' (a second sign-off finds no row).
CREATE TABLE circulars (
    circular_id     text PRIMARY KEY,
    campaign_id     text NOT NULL,
    county_code     text NOT NULL,
    title           text NOT NULL,
    trigger         text NOT NULL,
    status          text NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'signed', 'issued', 'discarded')),
    drafted_at      timestamptz NOT NULL,
    drafted_items   integer NOT NULL,
    signed_by       text,
    signed_at       timestamptz,
    discarded_by    text,
    discarded_at    timestamptz,
    discard_reason  text,
    issued_at       timestamptz,
    issuing_body    text,
    year            integer,
    number          integer,
    document_number text,
    recipients      integer
);
CREATE INDEX circulars_by_campaign ON circulars (campaign_id, drafted_at DESC, circular_id);

-- A circular's items as edited so far (removed items are gone; added ones come last).
CREATE TABLE circular_items (
    circular_id     text NOT NULL,
    item_id         text NOT NULL,
    position        integer NOT NULL,
    section         text NOT NULL,
    org_id          text NOT NULL,
    basis           text NOT NULL,
    text            text NOT NULL,
    PRIMARY KEY (circular_id, item_id)
);

-- Every decision of the office (supervision.decisions), once per event id: the API writes it in
-- the transaction that publishes the event, so consuming the event back changes nothing. A
-- decision read before its draft (a rebuild replays that topic first) waits, not applied, until
-- the draft comes. `seq` is the order decisions were kept in: a circular's decisions are kept in
-- the order they were made (the API holds the circular's row lock; read back, they come in the
-- order of their partition), even when the clock gives two of them the same time.
CREATE TABLE circular_decisions (
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    event_id        text PRIMARY KEY,
    campaign_id     text NOT NULL,
    circular_id     text NOT NULL,
    action          text NOT NULL CHECK (action IN ('requested', 'edited', 'signed', 'discarded')),
    decided_by      text NOT NULL,
    decided_at      timestamptz NOT NULL,
    data            jsonb NOT NULL,
    applied         boolean NOT NULL DEFAULT false
);
CREATE INDEX circular_decisions_by_circular ON circular_decisions (circular_id, seq);
CREATE INDEX circular_requests_by_campaign ON circular_decisions (campaign_id, seq)
    WHERE action = 'requested';
