-- The REST API: rate-limit windows shared by every instance, and lookups the API makes often.

-- Fixed one-minute windows per key (user, API key, or IP for sign-in). Unlogged: a crash that
-- forgets the counts only forgives a minute of requests.
CREATE UNLOGGED TABLE rate_limit_windows (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    count        integer NOT NULL
);

-- Listing a user's pairs filtered by status, newest pages first or last, with id as cursor.
CREATE INDEX forwarding_pairs_user_status_idx ON forwarding_pairs (user_id, status, id);

-- Active sessions of a user (a family with a current, unrevoked token).
CREATE INDEX session_tokens_family_current_idx ON session_tokens (family_id) WHERE revoked_at IS NULL;
