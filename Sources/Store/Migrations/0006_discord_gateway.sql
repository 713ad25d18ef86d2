-- One row per Discord bot whose Gateway session runs: which instance owns it (the lease) and
-- what a new owner needs to resume it instead of identifying again.
CREATE TABLE discord_gateway_sessions (
    account_id        bigint PRIMARY KEY REFERENCES discord_accounts (id) ON DELETE CASCADE,
    owner             text NOT NULL,
    lease_expires_at  timestamptz NOT NULL,
    session_id        text,
    sequence          bigint,
    resume_url        text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
