-- Credentials of county systems (issue 18): each may publish the events of one county (or, for
-- the dashboard's own credential, of any county: the dashboard checks the signed-in office's
-- county before it forwards). Only an HMAC of the secret is stored; the secret is shown once.
CREATE TABLE credentials (
    credential_id  bigserial PRIMARY KEY,
    secret_hash    text NOT NULL UNIQUE,
    county_code    text,               -- NULL: any county (the dashboard's credential only)
    label          text NOT NULL,
    rate           text,               -- e.g. '50/second'; NULL: the service's default
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);
CREATE UNIQUE INDEX credentials_label_live ON credentials (label) WHERE revoked_at IS NULL;
