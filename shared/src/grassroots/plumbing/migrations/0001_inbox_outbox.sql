-- Every event the service applied (or rejected by rule), keyed by the envelope's (source, id).
CREATE TABLE inbox (
    source        text        NOT NULL,
    event_id      text        NOT NULL,
    type          text        NOT NULL,
    subject       text        NOT NULL,
    content_hash  bytea       NOT NULL,
    topic         text        NOT NULL,
    kafka_partition integer   NOT NULL,
    kafka_offset  bigint      NOT NULL,
    outcome       text        NOT NULL DEFAULT 'applied' CHECK (outcome IN ('applied', 'rejected')),
    reason        text,
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);

-- Records to publish, written in the same transaction as the state change that caused them.
CREATE TABLE outbox (
    id            bigserial   PRIMARY KEY,
    topic         text        NOT NULL,
    key           bytea,
    value         bytea       NOT NULL,
    header_names  text[]      NOT NULL DEFAULT '{}',
    header_values bytea[]     NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
