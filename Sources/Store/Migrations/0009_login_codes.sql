-- One-time codes: 6-digit sign-in codes sent through the user's Telegram bot, and codes that
-- link a user's Telegram account (sent to their bot as /link CODE). Stored only as hashes.
CREATE TABLE login_codes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('signin', 'link')),
    code_hash   bytea NOT NULL CHECK (length(code_hash) = 32),
    attempts    integer NOT NULL DEFAULT 0,
    expires_at  timestamptz NOT NULL,
    consumed_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_codes_user_idx ON login_codes (user_id, purpose, id DESC) WHERE consumed_at IS NULL;
CREATE UNIQUE INDEX login_codes_link_key ON login_codes (code_hash) WHERE purpose = 'link';
