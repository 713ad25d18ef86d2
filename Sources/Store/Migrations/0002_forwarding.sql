-- Forwarding pairs, inbound dedupe, source-to-copy links and delivery logs.

CREATE TYPE platform AS ENUM ('telegram', 'discord');

CREATE TABLE forwarding_pairs (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id                 bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                    text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    source_platform         platform NOT NULL,
    source_telegram_account_id bigint REFERENCES telegram_accounts (id) ON DELETE CASCADE,
    source_discord_account_id  bigint REFERENCES discord_accounts (id) ON DELETE CASCADE,
    source_chat_id          bigint NOT NULL,
    dest_platform           platform NOT NULL,
    dest_telegram_account_id bigint REFERENCES telegram_accounts (id) ON DELETE CASCADE,
    dest_discord_account_id  bigint REFERENCES discord_accounts (id) ON DELETE CASCADE,
    dest_chat_id            bigint NOT NULL,
    status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    paused_reason           text,
    paused_at               timestamptz,
    delay_seconds           integer NOT NULL DEFAULT 0 CHECK (delay_seconds BETWEEN 0 AND 86400),
    options                 jsonb NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK ((source_platform = 'telegram') = (source_telegram_account_id IS NOT NULL)),
    CHECK ((source_platform = 'discord') = (source_discord_account_id IS NOT NULL)),
    CHECK ((dest_platform = 'telegram') = (dest_telegram_account_id IS NOT NULL)),
    CHECK ((dest_platform = 'discord') = (dest_discord_account_id IS NOT NULL)),
    CHECK (NOT (source_platform = dest_platform AND source_chat_id = dest_chat_id))
);
-- Routing looks up the active pairs of one source chat.
CREATE INDEX forwarding_pairs_source_idx ON forwarding_pairs (source_platform, source_chat_id) WHERE status = 'active';
CREATE INDEX forwarding_pairs_user_idx ON forwarding_pairs (user_id, id);
CREATE UNIQUE INDEX forwarding_pairs_route_key
    ON forwarding_pairs (user_id, source_platform, source_chat_id, dest_platform, dest_chat_id);

-- Dedupe of everything platforms push at us: a retried webhook hits the unique key.
CREATE TABLE inbound_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       text NOT NULL CHECK (source IN ('telegram', 'discord', 'discord_interaction', 'nowpayments', 'paypal', 'telegram_stars')),
    account_id   bigint NOT NULL DEFAULT 0,
    external_id  text NOT NULL,
    payload      jsonb,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX inbound_events_dedupe_key ON inbound_events (source, account_id, external_id);
CREATE INDEX inbound_events_received_idx ON inbound_events (received_at);

-- Each source message's copies, per pair, for edits, deletes and replies.
CREATE TABLE message_links (
    pair_id            bigint NOT NULL REFERENCES forwarding_pairs (id) ON DELETE CASCADE,
    source_chat_id     bigint NOT NULL,
    source_message_id  bigint NOT NULL,
    part               smallint NOT NULL DEFAULT 0 CHECK (part >= 0),
    dest_chat_id       bigint NOT NULL,
    dest_message_id    bigint NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pair_id, source_message_id, part)
);
CREATE INDEX message_links_dest_idx ON message_links (pair_id, dest_message_id);
CREATE INDEX message_links_created_idx ON message_links (created_at);

CREATE TABLE message_logs (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pair_id            bigint REFERENCES forwarding_pairs (id) ON DELETE SET NULL,
    source_message_id  bigint,
    dest_message_id    bigint,
    event              text NOT NULL DEFAULT 'create' CHECK (event IN ('create', 'edit', 'delete')),
    outcome            text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'filtered', 'skipped')),
    latency_ms         integer CHECK (latency_ms >= 0),
    error              text,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_logs_pair_idx ON message_logs (pair_id, created_at DESC);
CREATE INDEX message_logs_user_idx ON message_logs (user_id, created_at DESC);

CREATE TABLE error_logs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint REFERENCES users (id) ON DELETE CASCADE,
    pair_id     bigint REFERENCES forwarding_pairs (id) ON DELETE SET NULL,
    source      text NOT NULL,
    code        text NOT NULL,
    message     text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX error_logs_pair_idx ON error_logs (pair_id, created_at DESC) WHERE pair_id IS NOT NULL;
CREATE INDEX error_logs_user_idx ON error_logs (user_id, created_at DESC);
CREATE INDEX error_logs_created_idx ON error_logs (created_at DESC);
