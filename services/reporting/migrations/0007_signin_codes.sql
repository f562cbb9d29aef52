-- Safe sign-in (issue 17): a token never travels in a URL. `signin-link` makes a token and a
-- one-time code for it (valid once, for a short time); the dashboard exchanges the code for a
-- session: its cookie holds a random session id, never the token. Both stored hashed (HMAC, as
-- tokens are). A revoked token ends its codes and sessions (they are read joined to it).
CREATE TABLE signin_codes (
    code_hash      text PRIMARY KEY,
    token_hash     text NOT NULL REFERENCES api_tokens (token_hash),
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);

CREATE TABLE dashboard_sessions (
    session_hash   text PRIMARY KEY,
    token_hash     text NOT NULL REFERENCES api_tokens (token_hash),
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);
