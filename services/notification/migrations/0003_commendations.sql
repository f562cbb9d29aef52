-- 通报表扬: a commendation awarded by a committee is announced to every organisation of the
-- county. Several of one committee on one day of one campaign read as one notice: each is kept
-- here, and its group's announcement waits behind the barrier (as a close's circular does) for
-- the commendations published with it; then one notice names all those not named yet.
-- (Interim: until circulars are signed off (issue 16), the notice is the announcement.)
CREATE TABLE commendations (
    cause_source    text NOT NULL,
    cause_event_id  text NOT NULL,
    campaign_id     text NOT NULL,
    county_code     text NOT NULL,
    awarded_by      text NOT NULL,   -- the committee
    awarded_on      date NOT NULL,   -- awarded_on, or the event's county day
    branch_id       text NOT NULL,
    honour          text NOT NULL,
    title           text NOT NULL,
    member_name     text,
    announcement    integer,         -- the group's announcement that named it; NULL: not yet
    PRIMARY KEY (cause_source, cause_event_id)
);
CREATE INDEX commendations_to_announce ON commendations (campaign_id, awarded_by, awarded_on)
    WHERE announcement IS NULL;

-- One row per group: `waiting` while some of its commendations are not named yet, `issued`
-- once they are; a commendation arriving after that opens the next announcement (number + 1).
CREATE TABLE commendation_announcements (
    campaign_id   text NOT NULL,
    awarded_by    text NOT NULL,
    awarded_on    date NOT NULL,
    county_code   text NOT NULL,
    number        integer NOT NULL,
    status        text NOT NULL CHECK (status IN ('waiting', 'issued')),
    end_offsets   jsonb,             -- the barrier's snapshot; NULL: not taken yet
    triggered_at  timestamptz NOT NULL,
    issued_at     timestamptz,
    named         integer,           -- how many commendations the issued announcement named
    PRIMARY KEY (campaign_id, awarded_by, awarded_on)
);
CREATE INDEX commendation_announcements_waiting ON commendation_announcements (triggered_at)
    WHERE status = 'waiting';
