-- Users, their linked platform accounts, sessions, API keys and settings.

CREATE TYPE plan_tier AS ENUM ('free', 'pro', 'elite');
CREATE TYPE account_status AS ENUM ('active', 'broken', 'disabled');

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    password_hash   text,
    display_name    text NOT NULL DEFAULT '' CHECK (length(display_name) <= 100),
    role            text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    plan            plan_tier NOT NULL DEFAULT 'free',
    plan_expires_at timestamptz,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    suspended_reason text,
    telegram_user_id bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_telegram_user_id_key ON users (telegram_user_id) WHERE telegram_user_id IS NOT NULL;
CREATE INDEX users_plan_idx ON users (plan);

CREATE TABLE telegram_accounts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id             bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    bot_user_id         bigint NOT NULL,
    username            text NOT NULL DEFAULT '',
    token_ciphertext    bytea NOT NULL,
    -- SHA-256 of the secret Telegram echoes in X-Telegram-Bot-Api-Secret-Token.
    webhook_secret_hash bytea CHECK (webhook_secret_hash IS NULL OR length(webhook_secret_hash) = 32),
    status              account_status NOT NULL DEFAULT 'active',
    status_reason       text,
    last_checked_at     timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX telegram_accounts_bot_key ON telegram_accounts (bot_user_id);
CREATE INDEX telegram_accounts_user_idx ON telegram_accounts (user_id);

CREATE TABLE discord_accounts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id             bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind                text NOT NULL CHECK (kind IN ('bot', 'webhook')),
    application_id      bigint,
    bot_user_id         bigint,
    -- Hex Ed25519 key Discord signs interactions with (public, not a secret).
    public_key          text CHECK (public_key IS NULL OR public_key ~ '^[0-9a-f]{64}$'),
    username            text NOT NULL DEFAULT '',
    token_ciphertext    bytea NOT NULL,
    status              account_status NOT NULL DEFAULT 'active',
    status_reason       text,
    last_checked_at     timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'bot' OR bot_user_id IS NOT NULL)
);
CREATE UNIQUE INDEX discord_accounts_bot_key ON discord_accounts (bot_user_id) WHERE kind = 'bot';
CREATE UNIQUE INDEX discord_accounts_application_key ON discord_accounts (application_id) WHERE application_id IS NOT NULL AND kind = 'bot';
CREATE INDEX discord_accounts_user_idx ON discord_accounts (user_id);

CREATE TABLE session_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id     uuid NOT NULL,
    token_hash    bytea NOT NULL CHECK (length(token_hash) = 32),
    replaced_by   bigint REFERENCES session_tokens (id) ON DELETE SET NULL,
    user_agent    text NOT NULL DEFAULT '',
    ip            inet,
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoked_reason text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz
);
CREATE UNIQUE INDEX session_tokens_hash_key ON session_tokens (token_hash);
CREATE INDEX session_tokens_family_idx ON session_tokens (family_id);
CREATE INDEX session_tokens_user_idx ON session_tokens (user_id) WHERE revoked_at IS NULL;

CREATE TABLE api_keys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The public part of the key (shown in listings); the secret part is stored only as a hash.
    prefix        text NOT NULL,
    key_hash      bytea NOT NULL CHECK (length(key_hash) = 32),
    scopes        text[] NOT NULL DEFAULT '{}',
    expires_at    timestamptz,
    last_used_at  timestamptz,
    use_count     bigint NOT NULL DEFAULT 0,
    revoked_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (prefix);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

CREATE TABLE system_settings (
    key         text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_.]*$'),
    value       jsonb NOT NULL,
    updated_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
